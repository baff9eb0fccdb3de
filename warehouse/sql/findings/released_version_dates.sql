-- What the effective month of a released version is computed from.
SELECT v.version_id, v.town_code, v.case_no, v.seq, v.is_first_approval, v.is_baseline, v.benefit_from,
       v.decided_on, f.arrived_on
FROM core.case_versions v
JOIN raw.files f USING (file_sha256)
WHERE v.version_id = $version_id
