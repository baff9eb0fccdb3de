-- The cases the warehouse knows among those named in a result file, with their current version.
SELECT w.town_code, w.case_no, max(v.version_id) FILTER (WHERE v.is_current) AS current_version_id
FROM wanted w
JOIN core.case_versions v USING (town_code, case_no)
GROUP BY w.town_code, w.case_no
