-- Voiding a batch: marked voided, by whom and why (an exported batch is never rewritten).
UPDATE pay.batches SET status = 'voided', voided_at = $now, voided_by = $officer, void_reason = $reason
WHERE batch_no = $batch_no
