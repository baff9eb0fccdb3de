-- The cases drawn for a month, with their latest accepted result (officers only).
SELECT c.town_code, c.case_no, c.program, c.mandatory, c.selection_order,
       r.inspected_on, r.conclusion, r.problem_type, r.action
FROM checks.spotcheck_cases c
LEFT JOIN (
    SELECT town_code, case_no, period, arg_max(inspected_on, inspected_on) AS inspected_on,
           arg_max(conclusion, inspected_on) AS conclusion, arg_max(problem_type, inspected_on) AS problem_type,
           arg_max(action, inspected_on) AS action
    FROM checks.inspection_results WHERE row_status = 'accepted' GROUP BY ALL
) r USING (town_code, case_no, period)
WHERE c.period = $period AND c.selected
ORDER BY c.town_code, c.selection_order
