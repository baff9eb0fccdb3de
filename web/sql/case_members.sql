SELECT name, id_no, relation, covered, monthly_income, disability_type, disability_grade, work_ability, self_care
FROM core.members_current
WHERE town_code = $town AND case_no = $case_no
ORDER BY relation <> 'head', id_no
