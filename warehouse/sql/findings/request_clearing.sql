-- The first officer clears a finding that blocks payment: it stays open until a
-- second officer confirms (confirm_clearing.sql). The amount the clearing is
-- tied to (X06/X07) is the evidence amount now.
UPDATE checks.findings
SET cleared_by = $officer, clear_reason = $reason, clear_requested_on = $on, cleared_amount = evidence_amount
WHERE finding_id = $finding_id
