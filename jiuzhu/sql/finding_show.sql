-- jiuzhu findings show: one finding (by id or a unique prefix) with its clearing.
SELECT finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no, evidence_key, message,
       status, first_seen_on, last_seen_on, status_changed_on, first_seen_run, source, evidence, escalated_on,
       cleared_how, cleared_by, clear_reason, clear_requested_on, confirmed_by, confirmed_on, version_id
FROM checks.findings
WHERE finding_id LIKE $prefix || '%'
ORDER BY finding_id
LIMIT 2
