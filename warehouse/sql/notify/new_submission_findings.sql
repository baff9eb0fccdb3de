-- P- and V-findings first raised by one ingest run, one row per town and case.
SELECT town_code,
       case_no,
       string_agg(DISTINCT rule_id, '、' ORDER BY rule_id) AS rules,
       min(rule_id) AS first_rule,
       first(message ORDER BY rule_id) AS message,
       count(*) AS n
FROM checks.findings
WHERE first_seen_run = $run_id AND (rule_id LIKE 'P%' OR rule_id LIKE 'V%')
GROUP BY town_code, case_no
ORDER BY town_code, case_no NULLS FIRST
