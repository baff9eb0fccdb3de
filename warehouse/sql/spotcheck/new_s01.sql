-- S01 findings first raised by one run, one row per town and case (for the towns' digests).
SELECT town_code, case_no, message, blocks_payment
FROM checks.findings
WHERE rule_id = 'S01' AND first_seen_run = $run_id
ORDER BY town_code, case_no, finding_id
