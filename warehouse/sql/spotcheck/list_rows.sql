-- What an inspector's list shows for the selected cases of one drawn month:
-- the case as of the draw (its version then; versions never change once
-- written) with its household head. Rendered again on every re-run, so the
-- lists are the same files byte for byte.
SELECT c.town_code, c.case_no, c.selection_order, c.mandatory, c.staff_relative, c.complaint,
       c.open_error_rules, c.first_approved_on,
       v.village, v.program, v.decided_on, v.decided_by, v.monthly_benefit, v.household_size, v.covered_count,
       h.name AS head_name, h.id_no AS head_id_no
FROM checks.spotcheck_cases c
JOIN core.case_versions v ON v.version_id = c.version_id
LEFT JOIN (
    SELECT version_id, arg_min(name, member_no) AS name, arg_min(id_no, member_no) AS id_no
    FROM core.member_versions
    WHERE relation = 'head'
    GROUP BY version_id
) h ON h.version_id = c.version_id
WHERE c.period = $period AND c.selected
ORDER BY c.town_code, c.selection_order
