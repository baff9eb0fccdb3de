-- Every member of the cross-check population (see population_cases.sql),
-- keyed by the household's `hh` (its case is xc_cases.hh).
CREATE OR REPLACE TEMP TABLE xc_members AS
SELECT c.hh, m.id_no,
       coalesce(m.covered, false) AS covered,
       coalesce(m.monthly_income, 0) AS monthly_income,
       m.work_ability, m.annual_review_on
FROM xc_cases c
JOIN core.member_versions m ON m.version_id = c.version_id
WHERE m.id_no IS NOT NULL
