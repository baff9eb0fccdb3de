-- Open V-findings on current versions per town and rule: the ride-along counts of a
-- re-validation digest (notify/tell.py).
SELECT f.town_code, f.rule_id, count(*) AS n
FROM checks.findings f
JOIN core.case_versions v USING (version_id)
WHERE f.status = 'open' AND v.is_current AND f.rule_id LIKE 'V%'
GROUP BY ALL
ORDER BY ALL
