-- mart.rejections_monthly: validation rejections by rule (SPEC §6): the case
-- versions rejected at ingest (SPEC §2 acceptance; a version later released by
-- officers still counts where it was rejected) per month of ingest, town,
-- program and the rule of each of their P/V errors (a version with errors of
-- two rules counts under both), and whole files refused (P01 unreadable, P02 a
-- required column missing) per month first seen.
INSERT INTO mart.rejections_monthly BY NAME
WITH rejected AS (
    SELECT v.version_id, v.town_code, coalesce(v.program, 'unknown') AS program, v.rows_in_file,
           CAST(date_trunc('month', v.ingested_on) AS DATE) AS month
    FROM core.case_versions v
    WHERE (v.acceptance = 'rejected'
           OR v.version_id IN (SELECT version_id FROM checks.released_versions))
      AND v.ingested_on BETWEEN CAST($first AS DATE) AND least(last_day(CAST($last AS DATE)), CAST($as_of AS DATE))
),
rules AS (
    SELECT DISTINCT version_id, rule_id
    FROM checks.findings
    WHERE severity = 'error' AND version_id IS NOT NULL AND regexp_matches(rule_id, '^[PV][0-9]+$')
),
by_version AS (
    SELECT r.month, r.town_code, r.program, coalesce(u.rule_id, 'unknown') AS rule_id,
           count(*) AS versions_rejected, sum(r.rows_in_file) AS rows_rejected, 0 AS files_rejected
    FROM rejected r
    LEFT JOIN rules u ON u.version_id = r.version_id
    GROUP BY ALL
),
by_file AS (
    SELECT CAST(date_trunc('month', first_seen_on) AS DATE) AS month, coalesce(town_code, 'unknown') AS town_code,
           'unknown' AS program, rule_id,
           0 AS versions_rejected, 0 AS rows_rejected, count(DISTINCT evidence_key) AS files_rejected
    FROM checks.findings
    WHERE rule_id IN ('P01', 'P02') AND case_no IS NULL
      AND first_seen_on BETWEEN CAST($first AS DATE) AND least(last_day(CAST($last AS DATE)), CAST($as_of AS DATE))
    GROUP BY ALL
)
SELECT strftime(month, '%Y-%m') AS period, town_code, program, rule_id,
       CAST(sum(versions_rejected) AS INTEGER) AS versions_rejected,
       CAST(sum(rows_rejected) AS INTEGER) AS rows_rejected,
       CAST(sum(files_rejected) AS INTEGER) AS files_rejected
FROM (SELECT * FROM by_version UNION ALL SELECT * FROM by_file)
GROUP BY ALL
