-- Every open cross-check hit (X-rules) of the applications this run checked,
-- kept per date so the day's 核对报告 is the union of the day's runs.
INSERT INTO checks.crosscheck_hits
    (check_date, town_code, case_no, finding_id, rule_id, severity, id_no, source, evidence, message, run_id)
SELECT k.check_date, f.town_code, f.case_no, f.finding_id, f.rule_id, f.severity, f.id_no, f.source, f.evidence,
       f.message, $run_id
FROM checks.crosscheck_checks k
JOIN checks.findings f ON f.town_code = k.town_code AND f.case_no = k.case_no
WHERE k.check_date = $as_of AND k.run_id = $run_id
  AND f.status = 'open' AND f.rule_id LIKE 'X%'
ON CONFLICT (check_date, town_code, case_no, finding_id) DO UPDATE SET
    severity = excluded.severity, source = excluded.source, evidence = excluded.evidence,
    message = excluded.message, run_id = excluded.run_id
