-- The extracts whose rows are in force: the current one of each source, and every loaded death extract.
SELECT file_sha256 FROM registry.extracts
WHERE status = 'loaded' AND (is_current OR source = 'deaths')
ORDER BY file_sha256
