-- The bank reported the line paid.
UPDATE pay.payments SET status = 'paid', status_changed_at = $now WHERE batch_no = $batch_no AND line_no = $line_no
