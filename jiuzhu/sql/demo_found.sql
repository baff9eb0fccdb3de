-- Every rule the pipeline found on a case or a file (any status: a finding may since have been
-- cleared or superseded), for `jiuzhu demo`'s planted-against-found table.
SELECT DISTINCT f.rule_id, f.town_code, f.case_no, p.rel_path
FROM checks.findings f
LEFT JOIN raw.file_paths p USING (file_sha256)
