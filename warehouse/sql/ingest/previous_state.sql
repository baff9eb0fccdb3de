-- The state of some cases just before a file in the version order:
-- the content of the version that was current then, and whether the case
-- had ever been approved.
WITH loaded AS (
    SELECT v.*, row_number() OVER (PARTITION BY town_code, case_no ORDER BY seq DESC) AS rn
    FROM core.case_versions v
    JOIN wanted w USING (town_code, case_no)
    WHERE v.seq < $seq AND v.acceptance IN ('loaded', 'loaded_with_errors')
)
SELECT town_code, case_no,
       max(CASE WHEN rn = 1 THEN content_sha256 END) AS current_content_sha256,
       bool_or(status = 'approved') AS ever_approved
FROM loaded
GROUP BY town_code, case_no
