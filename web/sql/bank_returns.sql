SELECT rel_path, ingested_on, rows_read, rows_matched, rows_unmatched, failed
FROM pay.bank_returns
ORDER BY ingested_on DESC, rel_path
LIMIT 200
