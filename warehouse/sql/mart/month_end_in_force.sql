-- For every case and every month from $first to $last, counted from the
-- versions known on that month's last day (SPEC §6 statistics: "month m is
-- counted from the versions as of its last day"; capped at $as_of):
--   seq             the version in force in the month (SPEC §2), with case_id; null when none is
--   latest_state    the state code (versions.sql) of the case's latest known version
--   latest_program  its program_id
-- The version in force is defined exactly as in close/months_in_force.sql (the
-- loaded version latest in the version order whose effective month is on or
-- before the month; cases whose latest version is 作废 are gone), but with the
-- as-of date taken per month instead of one date for all months. This sibling
-- exists because the statistics need that per-month as-of; keep the two in step.
-- Input: mart_versions (versions.sql). $baseline_only keeps baseline versions
-- only (the caseload at go-live, counted as the go-live month's opening).
CREATE OR REPLACE TEMP TABLE mart_in_force AS
WITH months AS (
    SELECT CAST(unnest(generate_series(CAST($first AS DATE), CAST($last AS DATE), INTERVAL 1 MONTH)) AS DATE)
        AS month
),
bounds AS (
    SELECT month, least(last_day(month), CAST($as_of AS DATE)) AS known_by FROM months
),
loaded AS (
    SELECT case_id, seq, effective_month, state, program_id, known_on,
           count(*) OVER (PARTITION BY case_id) AS versions
    FROM mart_versions
    WHERE NOT CAST($baseline_only AS BOOLEAN) OR is_baseline
)
-- a case with one version: no choice to make (most of the caseload)
SELECT b.month, l.case_id,
       CASE WHEN l.state <> 4 AND l.effective_month <= b.month THEN l.seq END AS seq,
       l.state AS latest_state,
       l.program_id AS latest_program
FROM bounds b
JOIN loaded l ON l.known_on <= b.known_by AND l.versions = 1
UNION ALL
-- several versions: the latest known one decides 作废, the latest effective one is in force
SELECT b.month, l.case_id,
       CASE WHEN arg_max(l.state, l.seq) <> 4
            THEN max(l.seq) FILTER (WHERE l.effective_month <= b.month) END AS seq,
       arg_max(l.state, l.seq) AS latest_state,
       arg_max(l.program_id, l.seq) AS latest_program
FROM bounds b
JOIN loaded l ON l.known_on <= b.known_by AND l.versions > 1
GROUP BY b.month, l.case_id
