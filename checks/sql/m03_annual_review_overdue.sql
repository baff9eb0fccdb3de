-- M03 (to the bureau): a covered member of an active tekun case has had no
-- annual review for 12 months (time_limits annual_review_months): the later
-- of annual_review_on and the bureau's own inspection dates for the case
-- (accepted rows of checks.inspection_results), else decided_on. Overdue once
-- the months have fully passed. Evidence key: the last review date.
WITH inspected AS (
    SELECT town_code, case_no, max(inspected_on) AS inspected_on
    FROM checks.inspection_results
    WHERE row_status = 'accepted' AND inspected_on IS NOT NULL
    GROUP BY town_code, case_no
), reviewed AS (
    SELECT c.town_code, c.case_no, m.id_no,
           coalesce(greatest(m.annual_review_on, i.inspected_on), c.decided_on) AS last_review
    FROM xc_members m
    JOIN xc_cases c ON c.hh = m.hh
    LEFT JOIN inspected i ON i.town_code = c.town_code AND i.case_no = c.case_no
    WHERE c.population = 'active' AND c.family = 'tekun' AND m.covered
)
SELECT town_code, case_no, id_no,
       strftime(last_review, '%Y-%m-%d') AS last_review, $annual_review_months AS months,
       strftime(CAST(last_review + to_months($annual_review_months) AS DATE), '%Y-%m-%d') AS due_on
FROM reviewed
WHERE last_review IS NOT NULL
  AND $as_of >= CAST(last_review + to_months($annual_review_months) AS DATE)
