-- What the close needs of the versions in force: program, decision, amount,
-- account and the payee (the head of the household).
SELECT v.version_id, v.town_code, v.case_no, v.program, v.status, v.decided_on, v.monthly_benefit,
       v.covered_count, v.bank, v.account_no, v.account_holder, v.is_first_approval,
       h.id_no AS head_id_no, h.name AS head_name
FROM core.case_versions v
JOIN (SELECT DISTINCT version_id FROM in_force) f USING (version_id)
LEFT JOIN (
    SELECT version_id, arg_min(id_no, member_no) AS id_no, arg_min(name, member_no) AS name
    FROM core.member_versions WHERE relation = 'head' GROUP BY version_id
) h USING (version_id)
