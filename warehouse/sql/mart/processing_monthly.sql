-- mart.processing_monthly: how the towns' work went per month, town and program:
-- cases first filed, applications still undecided at month end, first decisions
-- and their working days (received -> decided, from mart_decisions), denials,
-- time-limit breaches (V07 on filing, M02 while undecided), versions received
-- and rejected (SPEC §2 acceptance), and applications cross-checked with hits.
-- Inputs: mart_decisions, mart_in_force, mart_versions, mart_finding_programs, mart_towns, mart_programs.
INSERT INTO mart.processing_monthly BY NAME
WITH months AS (
    SELECT CAST(unnest(generate_series(CAST($first AS DATE), CAST($last AS DATE), INTERVAL 1 MONTH)) AS DATE)
        AS month
),
bounds AS (
    SELECT month, least(last_day(month), CAST($as_of AS DATE)) AS known_by FROM months
),
versions AS (
    SELECT v.version_id, v.town_code, v.case_no, coalesce(v.program, 'unknown') AS program, v.acceptance,
           v.status, v.rows_in_file, v.ingested_on, v.is_baseline, v.seq,
           r.version_id IS NOT NULL AS released,
           CAST(date_trunc('month', v.ingested_on) AS DATE) AS month
    FROM core.case_versions v
    LEFT JOIN checks.released_versions r ON r.version_id = v.version_id
    WHERE v.ingested_on <= CAST($as_of AS DATE)
),
decided AS (
    SELECT month, town_code, program,
           count(*) AS decisions,
           count(*) FILTER (WHERE status = 'approved') AS first_approvals,
           sum(days) AS decision_days_total,
           avg(days) AS decision_days_avg,
           median(days) AS decision_days_median,
           max(days) AS decision_days_max,
           count(*) FILTER (WHERE over_limit) AS decisions_over_limit
    FROM mart_decisions GROUP BY ALL
),
first_filed AS (
    SELECT CAST(date_trunc('month', first_on) AS DATE) AS month, town_code, program, count(*) AS cases_first_filed
    FROM (
        SELECT town_code, case_no, min(ingested_on) AS first_on, arg_min(program, seq) AS program,
               bool_or(is_baseline) AS baseline
        FROM versions GROUP BY town_code, case_no
    )
    WHERE NOT baseline
    GROUP BY ALL
),
denied AS (
    SELECT month, town_code, program, count(DISTINCT case_no) AS denials
    FROM versions
    WHERE status = 'denied' AND acceptance IN ('loaded', 'loaded_with_errors')
    GROUP BY ALL
),
received AS (
    SELECT month, town_code, program,
           count(*) FILTER (WHERE acceptance <> 'unchanged') AS versions_submitted,
           count(*) FILTER (WHERE acceptance = 'rejected' OR released) AS versions_rejected,
           sum(rows_in_file) FILTER (WHERE acceptance = 'rejected' OR released) AS rows_rejected
    FROM versions WHERE NOT is_baseline
    GROUP BY ALL
),
pending AS (
    SELECT f.month, c.town_code, coalesce(p.program, 'unknown') AS program, count(*) AS applications_pending
    FROM mart_in_force f
    JOIN months m ON m.month = f.month
    JOIN (SELECT DISTINCT case_id, town_code FROM mart_versions) c ON c.case_id = f.case_id
    LEFT JOIN (SELECT program, row_number() OVER (ORDER BY program) AS program_id FROM mart_programs) p
           ON p.program_id = f.latest_program
    WHERE f.latest_state = 5  -- 已受理, 调查中, 待审批 (versions.sql)
    GROUP BY ALL
),
checked_cases AS (
    SELECT CAST(date_trunc('month', c.check_date) AS DATE) AS month, c.town_code, c.case_no,
           arg_max(coalesce(v.program, 'unknown'), c.check_date) AS program
    FROM checks.crosscheck_checks c
    LEFT JOIN core.case_versions v ON v.version_id = c.version_id
    WHERE c.check_date <= CAST($as_of AS DATE)
    GROUP BY ALL
),
hit_cases AS (
    SELECT DISTINCT CAST(date_trunc('month', check_date) AS DATE) AS month, town_code, case_no
    FROM checks.crosscheck_hits WHERE check_date <= CAST($as_of AS DATE)
),
checked AS (
    SELECT c.month, c.town_code, c.program, count(*) AS checked, count(h.case_no) AS checked_with_hits
    FROM checked_cases c
    LEFT JOIN hit_cases h ON h.month = c.month AND h.town_code = c.town_code AND h.case_no = c.case_no
    GROUP BY ALL
),
x_hits AS (  -- X findings first seen in the month: on an application checked that month, or on an active case
    SELECT CAST(date_trunc('month', f.first_seen_on) AS DATE) AS month, p.town_code, p.program,
           count(*) FILTER (WHERE a.case_no IS NOT NULL) AS hits_applications,
           count(*) FILTER (WHERE a.case_no IS NULL) AS hits_active
    FROM checks.findings f
    JOIN mart_finding_programs p ON p.finding_id = f.finding_id
    LEFT JOIN (SELECT DISTINCT month, town_code, case_no FROM checked_cases) a
           ON a.month = CAST(date_trunc('month', f.first_seen_on) AS DATE)
          AND a.town_code = f.town_code AND a.case_no = f.case_no
    WHERE f.rule_id LIKE 'X%' AND f.first_seen_on <= CAST($as_of AS DATE)
    GROUP BY ALL
),
time_findings AS (
    SELECT CAST(date_trunc('month', f.first_seen_on) AS DATE) AS month, p.town_code, p.program,
           count(*) FILTER (WHERE f.rule_id = 'V07') AS breaches_v07,
           count(*) FILTER (WHERE f.rule_id = 'M02') AS overdue_m02
    FROM checks.findings f
    JOIN mart_finding_programs p ON p.finding_id = f.finding_id
    WHERE f.rule_id IN ('V07', 'M02') AND f.first_seen_on <= CAST($as_of AS DATE)
    GROUP BY ALL
),
m02_open AS (
    SELECT b.month, p.town_code, p.program, count(*) AS overdue_m02_open
    FROM bounds b
    JOIN checks.findings f
      ON f.rule_id = 'M02' AND f.first_seen_on <= b.known_by
     AND (f.status = 'open' OR f.status_changed_on > b.known_by)
    JOIN mart_finding_programs p ON p.finding_id = f.finding_id
    GROUP BY ALL
),
keys AS (
    SELECT month, town_code, program FROM decided
    UNION SELECT month, town_code, program FROM first_filed
    UNION SELECT month, town_code, program FROM denied
    UNION SELECT month, town_code, program FROM received
    UNION SELECT month, town_code, program FROM pending
    UNION SELECT month, town_code, program FROM checked
    UNION SELECT month, town_code, program FROM x_hits
    UNION SELECT month, town_code, program FROM time_findings
    UNION SELECT month, town_code, program FROM m02_open
),
grid AS (
    SELECT m.month, t.town_code, g.program
    FROM months m
    CROSS JOIN (SELECT town_code FROM mart_towns UNION SELECT k.town_code FROM keys k JOIN months USING (month)) t
    CROSS JOIN (SELECT program FROM mart_programs UNION SELECT k.program FROM keys k JOIN months USING (month)) g
)
SELECT strftime(g.month, '%Y-%m') AS period, g.town_code, g.program,
       CAST(coalesce(ff.cases_first_filed, 0) AS INTEGER) AS cases_first_filed,
       CAST(coalesce(pe.applications_pending, 0) AS INTEGER) AS applications_pending,
       CAST(coalesce(d.decisions, 0) AS INTEGER) AS decisions,
       CAST(coalesce(d.first_approvals, 0) AS INTEGER) AS first_approvals,
       CAST(coalesce(de.denials, 0) AS INTEGER) AS denials,
       CAST(coalesce(d.decision_days_total, 0) AS BIGINT) AS decision_days_total,
       d.decision_days_avg,
       CAST(d.decision_days_median AS DOUBLE) AS decision_days_median,
       CAST(d.decision_days_max AS INTEGER) AS decision_days_max,
       CAST(coalesce(d.decisions_over_limit, 0) AS INTEGER) AS decisions_over_limit,
       CAST(coalesce(tf.breaches_v07, 0) AS INTEGER) AS breaches_v07,
       CAST(coalesce(tf.overdue_m02, 0) AS INTEGER) AS overdue_m02,
       CAST(coalesce(mo.overdue_m02_open, 0) AS INTEGER) AS overdue_m02_open,
       CAST(coalesce(rc.versions_submitted, 0) AS INTEGER) AS versions_submitted,
       CAST(coalesce(rc.versions_rejected, 0) AS INTEGER) AS versions_rejected,
       CAST(coalesce(rc.rows_rejected, 0) AS INTEGER) AS rows_rejected,
       CASE WHEN coalesce(rc.versions_submitted, 0) > 0
            THEN rc.versions_rejected / rc.versions_submitted END AS rejection_rate,
       CAST(coalesce(ck.checked, 0) AS INTEGER) AS checked,
       CAST(coalesce(ck.checked_with_hits, 0) AS INTEGER) AS checked_with_hits,
       CASE WHEN coalesce(ck.checked, 0) > 0 THEN ck.checked_with_hits / ck.checked END AS hit_rate,
       CAST(coalesce(xh.hits_applications, 0) AS INTEGER) AS crosscheck_hits_applications,
       CAST(coalesce(xh.hits_active, 0) AS INTEGER) AS crosscheck_hits_active
FROM grid g
LEFT JOIN first_filed ff ON ff.month = g.month AND ff.town_code = g.town_code AND ff.program = g.program
LEFT JOIN pending pe ON pe.month = g.month AND pe.town_code = g.town_code AND pe.program = g.program
LEFT JOIN decided d ON d.month = g.month AND d.town_code = g.town_code AND d.program = g.program
LEFT JOIN denied de ON de.month = g.month AND de.town_code = g.town_code AND de.program = g.program
LEFT JOIN time_findings tf ON tf.month = g.month AND tf.town_code = g.town_code AND tf.program = g.program
LEFT JOIN m02_open mo ON mo.month = g.month AND mo.town_code = g.town_code AND mo.program = g.program
LEFT JOIN received rc ON rc.month = g.month AND rc.town_code = g.town_code AND rc.program = g.program
LEFT JOIN checked ck ON ck.month = g.month AND ck.town_code = g.town_code AND ck.program = g.program
LEFT JOIN x_hits xh ON xh.month = g.month AND xh.town_code = g.town_code AND xh.program = g.program
