-- Open findings per town (the officers' overview).
SELECT town_code, count(*) AS open_findings, count(*) FILTER (WHERE blocks_payment) AS blocking,
       count(*) FILTER (WHERE clear_requested_on IS NOT NULL) AS pending
FROM checks.findings
WHERE status = 'open' AND town_code IS NOT NULL
GROUP BY town_code
ORDER BY town_code
