-- A town's open findings for its clerk (the bureau's own M03 is not the town's business).
SELECT finding_id, rule_id, severity, blocks_payment, case_no, id_no, message, first_seen_on,
       clear_requested_on IS NOT NULL AS pending
FROM checks.findings
WHERE town_code = $town AND status = 'open' AND rule_id NOT IN ('M03') AND (rule_id IN ('M01', 'M02')) = $overdue
ORDER BY blocks_payment DESC, severity, case_no, rule_id
LIMIT 1000
