-- B01 clears by itself when the case's current version carries another account
-- (b01_cleared: the findings whose account changed).
UPDATE checks.findings
SET status = 'cleared', status_changed_on = $as_of, cleared_by = 'system',
    clear_reason = '新版本已变更银行账号', last_seen_run = $run_id
WHERE finding_id IN (SELECT finding_id FROM b01_cleared)
