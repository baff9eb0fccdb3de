-- The P- and V-findings raised on one submission, for its return file.
SELECT case_no AS case_key, source_row, field, rule_id, message
FROM checks.findings
WHERE file_sha256 = $sha AND (rule_id LIKE 'P%' OR rule_id LIKE 'V%')
ORDER BY source_row NULLS FIRST, rule_id
