-- mart.findings_monthly: findings of every rule (P, V, X, M, S, B) per month,
-- town, program and rule: raised (first seen), cleared automatically (a later
-- submission or extract no longer trips the rule), cleared by an officer,
-- clearing requested and confirmed (blocking findings take a second officer:
-- audit.events), superseded (a newer version became current), and open at the
-- month's end. Cross-check hits by rule are the X rows; clearings are counted
-- from the audit events, as warehouse/sql/findings/clearing_counts.sql does.
-- Inputs: mart_finding_programs.
INSERT INTO mart.findings_monthly BY NAME
WITH months AS (
    SELECT CAST(unnest(generate_series(CAST($first AS DATE), CAST($last AS DATE), INTERVAL 1 MONTH)) AS DATE)
        AS month
),
bounds AS (
    SELECT month, least(last_day(month), CAST($as_of AS DATE)) AS known_by FROM months
),
f AS (
    SELECT f.finding_id, f.rule_id, p.town_code, p.program, f.status, f.first_seen_on, f.status_changed_on,
           coalesce(f.cleared_how, CASE WHEN f.cleared_by IS NULL THEN 'auto' ELSE 'officer' END) AS cleared_how
    FROM checks.findings f
    JOIN mart_finding_programs p ON p.finding_id = f.finding_id
),
events AS (
    SELECT CAST(e.occurred_at AS DATE) AS day, e.kind, f.rule_id, f.town_code, f.program
    FROM audit.events e
    JOIN f ON f.finding_id = json_extract_string(e.detail_json, '$.finding_id')
    WHERE e.kind IN ('finding_cleared', 'finding_clear_requested', 'finding_clear_confirmed')
),
measures AS (
    SELECT first_seen_on AS day, town_code, program, rule_id,
           1 AS raised, 0 AS cleared_auto, 0 AS cleared_officer, 0 AS clear_requested, 0 AS confirmed,
           0 AS superseded
    FROM f
    UNION ALL
    SELECT status_changed_on, town_code, program, rule_id, 0, 1, 0, 0, 0, 0
    FROM f WHERE status = 'cleared' AND cleared_how = 'auto' AND status_changed_on IS NOT NULL
    UNION ALL
    SELECT status_changed_on, town_code, program, rule_id, 0, 0, 0, 0, 0, 1
    FROM f WHERE status = 'superseded' AND status_changed_on IS NOT NULL
    UNION ALL
    SELECT day, town_code, program, rule_id,
           0, 0, CASE kind WHEN 'finding_cleared' THEN 1 ELSE 0 END,
           CASE kind WHEN 'finding_clear_requested' THEN 1 ELSE 0 END,
           CASE kind WHEN 'finding_clear_confirmed' THEN 1 ELSE 0 END, 0
    FROM events
),
flows AS (
    SELECT b.month, x.town_code, x.program, x.rule_id,
           sum(raised) AS raised, sum(cleared_auto) AS cleared_auto, sum(cleared_officer) AS cleared_officer,
           sum(clear_requested) AS clear_requested, sum(confirmed) AS confirmed, sum(superseded) AS superseded,
           0 AS open_at_end
    FROM measures x
    JOIN bounds b ON x.day BETWEEN b.month AND b.known_by
    GROUP BY ALL
),
stock AS (
    SELECT b.month, f.town_code, f.program, f.rule_id, 0, 0, 0, 0, 0, 0, count(*) AS open_at_end
    FROM bounds b
    JOIN f ON f.first_seen_on <= b.known_by AND (f.status = 'open' OR f.status_changed_on > b.known_by)
    GROUP BY ALL
)
SELECT strftime(month, '%Y-%m') AS period, town_code, program, rule_id,
       CAST(sum(raised) AS INTEGER) AS raised,
       CAST(sum(cleared_auto) AS INTEGER) AS cleared_auto,
       CAST(sum(cleared_officer) AS INTEGER) AS cleared_officer,
       CAST(sum(clear_requested) AS INTEGER) AS clear_requested,
       CAST(sum(confirmed) AS INTEGER) AS confirmed,
       CAST(sum(superseded) AS INTEGER) AS superseded,
       CAST(sum(open_at_end) AS INTEGER) AS open_at_end
FROM (SELECT * FROM flows UNION ALL SELECT * FROM stock)
GROUP BY ALL
