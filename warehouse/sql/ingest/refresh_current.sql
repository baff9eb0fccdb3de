-- The current version of each touched case is its loaded version latest in
-- the version order; rejected and unchanged submissions never become current.
UPDATE core.case_versions v
SET is_current = coalesce(v.version_id = c.current_id, false)
FROM (
    SELECT town_code, case_no, arg_max(version_id, seq) FILTER (WHERE acceptance IN ('loaded', 'loaded_with_errors')) AS current_id
    FROM core.case_versions
    WHERE (town_code, case_no) IN (SELECT (town_code, case_no) FROM touched)
    GROUP BY town_code, case_no
) c
WHERE v.town_code = c.town_code AND v.case_no = c.case_no
  AND v.is_current IS DISTINCT FROM coalesce(v.version_id = c.current_id, false)
