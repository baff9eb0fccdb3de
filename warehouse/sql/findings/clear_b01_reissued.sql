-- An officer re-issues a failed line: the case's open B01 findings clear, the
-- reason naming the re-issue.
UPDATE checks.findings
SET status = 'cleared', status_changed_on = $on, cleared_by = $officer, clear_reason = $reason
WHERE rule_id = 'B01' AND status = 'open' AND town_code = $town_code AND case_no = $case_no
