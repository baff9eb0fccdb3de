SELECT finding_id, rule_id, severity, blocks_payment, id_no, message, status, first_seen_on,
       clear_requested_on IS NOT NULL AND status = 'open' AS pending
FROM checks.findings
WHERE town_code = $town AND case_no = $case_no AND (status = 'open' OR status_changed_on >= CAST($today AS DATE) - 90)
  AND (CAST($clerk AS BOOLEAN) = false OR rule_id <> 'M03')
ORDER BY status, blocks_payment DESC, rule_id
