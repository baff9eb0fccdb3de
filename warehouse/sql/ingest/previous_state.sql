-- The state of some cases just before a file in the version order: the
-- content of the version that was current then, whether the case had ever
-- been approved or decided, and when it was first submitted at all.
WITH earlier AS (
    SELECT v.*,
           row_number() OVER (PARTITION BY town_code, case_no
                              ORDER BY CASE WHEN acceptance IN ('loaded', 'loaded_with_errors') THEN 0 ELSE 1 END,
                                       seq DESC) AS rn
    FROM core.case_versions v
    JOIN wanted w USING (town_code, case_no)
    WHERE v.seq < $seq
)
SELECT town_code, case_no,
       max(CASE WHEN rn = 1 AND acceptance IN ('loaded', 'loaded_with_errors') THEN content_sha256 END)
           AS current_content_sha256,
       coalesce(bool_or(status = 'approved' AND acceptance IN ('loaded', 'loaded_with_errors')), false)
           AS ever_approved,
       coalesce(bool_or(status IN ('approved', 'denied') AND acceptance IN ('loaded', 'loaded_with_errors')), false)
           AS ever_decided,
       min(ingested_on) AS first_ingested_on
FROM earlier
GROUP BY town_code, case_no
