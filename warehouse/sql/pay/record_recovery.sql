-- An officer's entry on the 应追回 register: $action is recovered or waived.
UPDATE pay.recovery_register
SET recovered_amount = recovered_amount
        + CASE WHEN $action = 'recovered' THEN CAST($amount AS DECIMAL(12,2)) ELSE 0 END,
    waived_amount = waived_amount
        + CASE WHEN $action = 'waived' THEN CAST($amount AS DECIMAL(12,2)) ELSE 0 END,
    status = $status, resolved_by = $who, resolved_on = $on, resolve_note = $note
WHERE batch_no = $b AND line_no = $l
