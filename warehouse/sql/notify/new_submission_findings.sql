-- P- and V-findings first raised by one ingest run: one row per town and case, and
-- one per file for the findings about a whole file (P01, P02), each naming its file.
SELECT f.town_code,
       f.case_no,
       string_agg(DISTINCT f.rule_id, '、' ORDER BY f.rule_id) AS rules,
       min(f.rule_id) AS first_rule,
       CASE WHEN f.case_no IS NULL THEN '文件“' || coalesce(any_value(r.name), '') || '”：' ELSE '' END
           || first(f.message ORDER BY f.rule_id) AS message,
       count(*) AS n
FROM checks.findings f
LEFT JOIN raw.files r ON r.file_sha256 = f.file_sha256
WHERE f.first_seen_run = $run_id AND (f.rule_id LIKE 'P%' OR f.rule_id LIKE 'V%')
GROUP BY f.town_code, f.case_no, CASE WHEN f.case_no IS NULL THEN f.file_sha256 END
ORDER BY f.town_code, f.case_no NULLS FIRST, message
