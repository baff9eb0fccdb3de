-- A version, its open errors, and whether a newer version of its case is current.
SELECT v.version_id, v.town_code, v.case_no, v.seq, v.acceptance,
       (SELECT count(*) FROM checks.findings f
        WHERE f.version_id = v.version_id AND f.status = 'open' AND f.severity = 'error') AS open_errors,
       (SELECT count(*) FROM core.case_versions n
        WHERE n.town_code = v.town_code AND n.case_no = v.case_no AND n.is_current AND n.seq > v.seq) AS newer
FROM core.case_versions v
WHERE v.version_id = $version_id
