-- When a newer version becomes current, the open P- and V-findings of the
-- case's older versions close as superseded.
UPDATE checks.findings f
SET status = 'superseded', status_changed_on = $as_of
FROM core.case_versions old
JOIN core.case_versions cur
  ON cur.town_code = old.town_code AND cur.case_no = old.case_no AND cur.is_current
WHERE f.version_id = old.version_id
  AND old.seq < cur.seq
  AND f.status = 'open'
  AND (f.rule_id LIKE 'V%' OR f.rule_id LIKE 'P%')
  AND (old.town_code, old.case_no) IN (SELECT (town_code, case_no) FROM touched)
