SELECT name, ingested_on, status, rows_read, rows_accepted, rows_rejected, not_true, findings
FROM checks.inspection_files
ORDER BY ingested_on DESC, name
LIMIT 200
