-- A failed or voided line no longer counts as paid (2/3): its never-twice key.
DELETE FROM pay.live_keys WHERE batch_no = $batch_no AND line_no = $line_no
