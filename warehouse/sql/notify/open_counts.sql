-- Open findings per town and kind of rule, for the "still open" part of a digest.
SELECT town_code, substr(rule_id, 1, 1) AS family, count(*) AS n
FROM checks.findings
WHERE status = 'open'
GROUP BY ALL
