-- Open cross-check and dynamic-management findings per tag (what rides along in a digest).
SELECT CASE WHEN rule_id = 'M03' THEN 'district' ELSE town_code END AS tag,
       count(*) FILTER (WHERE rule_id LIKE 'X%') AS crosscheck_hit,
       count(*) FILTER (WHERE rule_id LIKE 'M%') AS overdue,
       count(*) FILTER (WHERE rule_id LIKE 'X%' AND blocks_payment) AS hold
FROM checks.findings
WHERE status = 'open' AND list_contains($rule_ids, rule_id)
GROUP BY ALL
