-- The bank reported the line failed, with its reason.
UPDATE pay.payments SET status = 'failed', status_changed_at = $now, bank_reason = $reason
WHERE batch_no = $batch_no AND line_no = $line_no
