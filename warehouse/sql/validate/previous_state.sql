-- For each version in `scope`, the case's state just before it in the version
-- order (the same meaning as ingest/previous_state.sql, for many versions at
-- once): was it ever approved or decided by a loaded version, and when was any
-- version of it first ingested.
WITH s AS (
    SELECT v.version_id, v.town_code, v.case_no, v.seq
    FROM core.case_versions v
    JOIN scope USING (version_id)
)
SELECT s.version_id AS case_key,
       coalesce(bool_or(e.status = 'approved' AND e.acceptance IN ('loaded', 'loaded_with_errors')), false)
           AS ever_approved,
       coalesce(bool_or(e.status IN ('approved', 'denied') AND e.acceptance IN ('loaded', 'loaded_with_errors')),
                false) AS ever_decided,
       min(e.ingested_on) AS first_ingested_on
FROM s
JOIN core.case_versions e
  ON e.town_code = s.town_code AND e.case_no = s.case_no AND e.seq < s.seq
GROUP BY s.version_id
