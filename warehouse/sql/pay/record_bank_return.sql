-- A bank return file read once (by content hash), with its counts.
INSERT INTO pay.bank_returns
VALUES ($file_sha256, $rel_path, $run_id, $ingested_on, $rows_read, $rows_matched, $rows_unmatched, $failed)
