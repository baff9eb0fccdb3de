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
       -- the month after the earliest recorded death of a covered member of the version
       -- then current: a change version may start the survivors' amount from it (SPEC §2)
       CAST(date_trunc('month', min(death.died_on) FILTER (WHERE rn = 1
           AND acceptance IN ('loaded', 'loaded_with_errors'))) + INTERVAL 1 MONTH AS DATE) AS death_floor,
       coalesce(bool_or(status = 'approved' AND acceptance IN ('loaded', 'loaded_with_errors')), false)
           AS ever_approved,
       coalesce(bool_or(status IN ('approved', 'denied') AND acceptance IN ('loaded', 'loaded_with_errors')), false)
           AS ever_decided,
       min(ingested_on) AS first_ingested_on
FROM earlier
LEFT JOIN (
    SELECT m.version_id, min(coalesce(d.died_on, d.extract_date)) AS died_on
    FROM core.member_versions m
    JOIN registry.deaths d ON d.id_no = m.id_no
    WHERE m.covered AND m.version_id IN (SELECT version_id FROM earlier WHERE rn = 1)
    GROUP BY m.version_id
) death USING (version_id)
GROUP BY town_code, case_no
