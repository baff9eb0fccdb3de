-- A failed or voided line no longer counts as paid (3/3): its one-off key.
DELETE FROM pay.one_off_keys WHERE batch_no = $batch_no AND line_no = $line_no
