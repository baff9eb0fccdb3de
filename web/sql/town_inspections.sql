-- A town's inspected cases: only those with an accepted result (towns are not told in advance).
SELECT r.period, r.case_no, r.inspected_on, r.conclusion, r.problem_type, r.action, r.stops_payment
FROM checks.inspection_results r
WHERE r.town_code = $town AND r.row_status = 'accepted'
ORDER BY r.period DESC, r.case_no, r.inspected_on
