-- Sheet 明细 of a town's 核对报告 for one date: every hit, with the member's
-- relation in the version checked.
WITH k AS (
    SELECT town_code, case_no, arg_max(version_id, checked_at) AS version_id
    FROM checks.crosscheck_checks
    WHERE check_date = $check_date AND town_code = $town_code
    GROUP BY town_code, case_no
), rel AS (  -- the members of the versions checked only: not the whole table, once per town
    SELECT version_id, id_no, min(relation) AS relation FROM core.member_versions
    WHERE version_id IN (SELECT version_id FROM k)
    GROUP BY version_id, id_no
)
SELECT h.case_no, h.id_no, rel.relation, h.rule_id, h.severity, h.source, h.evidence, h.message, h.finding_id
FROM checks.crosscheck_hits h
LEFT JOIN k ON k.town_code = h.town_code AND k.case_no = h.case_no
LEFT JOIN rel ON rel.version_id = k.version_id AND rel.id_no = h.id_no
WHERE h.check_date = $check_date AND h.town_code = $town_code
ORDER BY h.case_no, h.rule_id, h.id_no NULLS FIRST, h.finding_id
