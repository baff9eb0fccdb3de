-- The typed rows of some case versions, rebuilt from core for the V-rules:
-- one row per member with the version's household fields (money in integer fen).
-- `scope` is a registered frame of version_id.
SELECT v.version_id                                   AS case_key,
       v.case_no,
       v.town_code                                    AS town,
       v.ingested_on,
       v.file_sha256,
       v.is_baseline,
       v.is_current,
       v.seq < coalesce(cur.seq, -1)                   AS older_than_current,
       m.source_row::BIGINT                           AS source_row,
       v.village, v.program, v.status, v.applied_on, v.received_on, v.visited_on, v.reviewed_on, v.decided_on,
       v.publicity_from, v.publicity_to, v.decided_level, v.decided_by,
       CAST(v.monthly_benefit * 100 AS BIGINT)        AS monthly_benefit_fen,
       v.benefit_from, v.rechecked_on, v.bank, v.account_no, v.account_holder, v.staff_relative, v.complaint,
       v.extended, v.gradual_exit, v.remark,
       m.name, m.id_no, m.relation, m.covered, m.disability_type, m.disability_grade::TINYINT AS disability_grade,
       m.serious_illness, m.schooling, m.work_ability, m.self_care, m.annual_review_on,
       CAST(coalesce(m.monthly_income, 0) * 100 AS BIGINT) AS monthly_income_fen
FROM core.case_versions v
JOIN scope s USING (version_id)
JOIN core.member_versions m USING (version_id)
LEFT JOIN core.case_versions cur
       ON cur.town_code = v.town_code AND cur.case_no = v.case_no AND cur.is_current
ORDER BY v.version_id, m.source_row
