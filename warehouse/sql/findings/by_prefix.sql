-- The finding with this id, or the (at most two) whose id starts with this prefix.
SELECT finding_id, rule_id, severity, blocks_payment, status, cleared_by, clear_requested_on, version_id,
       town_code, case_no
FROM checks.findings
WHERE finding_id LIKE $prefix || '%'
ORDER BY finding_id
LIMIT 2
