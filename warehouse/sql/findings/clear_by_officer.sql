-- An officer clears a finding that does not block payment, at once, with a
-- reason; the amount the clearing is tied to (X06/X07) is the evidence amount now.
UPDATE checks.findings
SET status = 'cleared', cleared_how = 'officer', cleared_by = $officer, clear_reason = $reason,
    status_changed_on = $on, cleared_amount = evidence_amount
WHERE finding_id = $finding_id
