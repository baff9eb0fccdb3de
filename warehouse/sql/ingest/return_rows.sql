-- The rows of one submission as received, with their outcome, for its return file.
SELECT * EXCLUDE (file_sha256) FROM raw.submission_rows WHERE file_sha256 = $sha ORDER BY source_row
