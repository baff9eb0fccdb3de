-- Voiding a batch: its lines still exported are voided (lines the bank paid or failed keep their status).
UPDATE pay.payments SET status = 'voided', status_changed_at = $now
WHERE batch_no = $batch_no AND status = 'exported'
