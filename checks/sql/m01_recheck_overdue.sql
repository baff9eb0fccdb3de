-- M01: an active dibao case has had no re-check (rechecked_on, else
-- decided_on) for 12 months, or 6 when a covered member has work ability 有
-- (time_limits, dated). Overdue once the months have fully passed: check date
-- >= last re-check + months. Evidence key: the last re-check date.
WITH workable AS (
    SELECT DISTINCT hh FROM xc_members WHERE covered AND work_ability = '有'
), last_check AS (
    SELECT c.town_code, c.case_no, coalesce(c.rechecked_on, c.decided_on) AS last_check,
           CASE WHEN w.hh IS NOT NULL THEN $months_work_ability ELSE $months END AS months
    FROM xc_cases c
    LEFT JOIN workable w ON w.hh = c.hh
    WHERE c.population = 'active' AND c.family = 'dibao'
)
SELECT town_code, case_no, NULL::VARCHAR AS id_no,
       strftime(last_check, '%Y-%m-%d') AS last_check, months,
       strftime(CAST(last_check + to_months(months) AS DATE), '%Y-%m-%d') AS due_on
FROM last_check
WHERE last_check IS NOT NULL
  AND $as_of >= CAST(last_check + to_months(months) AS DATE)
