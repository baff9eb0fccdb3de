-- Sheet 结论 of a town's 核对报告 for one date: one row per application
-- checked that day (its latest version checked), with its hits counted.
WITH checked AS (
    SELECT town_code, case_no, arg_max(version_id, checked_at) AS version_id,
           arg_min(reason, checked_at) AS reason, max(checked_at) AS checked_at
    FROM checks.crosscheck_checks
    WHERE check_date = $check_date AND town_code = $town_code
    GROUP BY town_code, case_no
), hits AS (
    SELECT case_no,
           count(*) FILTER (WHERE severity = 'error') AS errors,
           count(*) FILTER (WHERE severity <> 'error') AS warnings,
           string_agg(DISTINCT rule_id, '、' ORDER BY rule_id) AS rules
    FROM checks.crosscheck_hits
    WHERE check_date = $check_date AND town_code = $town_code
    GROUP BY case_no
)
SELECT k.town_code, k.case_no, v.program, v.status, v.received_on, v.household_size, v.covered_count,
       head.id_no AS head_id_no, k.reason,
       coalesce(h.errors, 0) AS errors, coalesce(h.warnings, 0) AS warnings, coalesce(h.rules, '') AS rules
FROM checked k
JOIN core.case_versions v ON v.version_id = k.version_id
LEFT JOIN (
    -- the heads of the versions checked only: not the whole table, once per town
    SELECT version_id, min(id_no) AS id_no FROM core.member_versions
    WHERE relation = 'head' AND version_id IN (SELECT version_id FROM checked)
    GROUP BY version_id
) head ON head.version_id = k.version_id
LEFT JOIN hits h ON h.case_no = k.case_no
ORDER BY k.case_no
