-- A second, different officer confirms the clearing of a finding that blocks payment.
UPDATE checks.findings
SET status = 'cleared', cleared_how = 'officer', confirmed_by = $officer, confirmed_on = $on,
    status_changed_on = $on
WHERE finding_id = $finding_id
