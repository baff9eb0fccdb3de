-- First decisions (批准 or 不予批准) filed from $first to $last: the first loaded
-- version of each case whose status is a decision (V07's "first decided
-- version"), not a baseline version, with the month it became known (capped at
-- $as_of). Working days and the time limit are added in Python
-- (transforms.calendar.WorkingCalendar, reference time_limits).
WITH loaded AS (
    SELECT v.version_id, v.town_code, v.case_no, v.seq, v.program, v.status, v.received_on, v.decided_on,
           coalesce(v.extended, false) AS extended, v.is_baseline,
           greatest(v.ingested_on, coalesce(r.released_on, v.ingested_on)) AS known_on
    FROM core.case_versions v
    LEFT JOIN checks.released_versions r ON r.version_id = v.version_id
    WHERE v.acceptance IN ('loaded', 'loaded_with_errors')
),
first_decided AS (
    SELECT town_code, case_no, arg_min(version_id, seq) AS version_id
    FROM loaded WHERE status IN ('approved', 'denied')
    GROUP BY ALL
)
SELECT l.town_code, l.case_no, l.program, l.status, l.received_on, l.decided_on, l.extended,
       CAST(date_trunc('month', l.known_on) AS DATE) AS month
FROM first_decided f
JOIN loaded l ON l.version_id = f.version_id
WHERE NOT l.is_baseline
  AND l.known_on BETWEEN CAST($first AS DATE) AND least(last_day(CAST($last AS DATE)), CAST($as_of AS DATE))
