-- jiuzhu findings list: findings by status (pending: open with a clearing awaiting confirmation),
-- rule id or letter, town and case.
SELECT finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no, status,
       first_seen_on, clear_requested_on, message
FROM checks.findings
WHERE ($status = 'all'
       OR ($status = 'pending' AND status = 'open' AND clear_requested_on IS NOT NULL)
       OR status = $status)
  AND ($rule IS NULL OR rule_id = $rule OR rule_id LIKE $rule || '%')
  AND ($town IS NULL OR town_code = $town)
  AND ($case IS NULL OR case_no = $case)
ORDER BY town_code, case_no, rule_id, finding_id
