-- mart.payments_monthly: money by batch month (the month closed, pay.batches.period)
-- per town and program: every line that is not voided (SPEC §6), monthly lines
-- and arrears (补发) apart, one-off payments apart, lines the bank returned as
-- failed shown as a part; plus the holds of the month's close (the month's own amount held, and the
-- earlier months still held apart), and the 应追回 register: lines
-- raised by the month's close, and the officers' recovered and waived entries of the month.
-- Ties out with the batches: money_total summed over towns and programs equals
-- the total of the month's exported (not voided) batches, to the fen.
INSERT INTO mart.payments_monthly BY NAME
WITH months AS (
    SELECT CAST(unnest(generate_series(CAST($first AS DATE), CAST($last AS DATE), INTERVAL 1 MONTH)) AS DATE)
        AS month
),
lines AS (
    SELECT b.period AS month, p.town_code, p.program, p.case_no, p.payment_type, p.status, p.amount
    FROM pay.payments p
    JOIN pay.batches b ON b.batch_no = p.batch_no
    WHERE p.status <> 'voided' AND b.period BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
),
paid AS (
    SELECT month, town_code, program,
           count(*) AS lines,
           count(*) FILTER (WHERE payment_type = 'monthly') AS monthly_lines,
           sum(amount) AS money_total,
           sum(amount) FILTER (WHERE payment_type = 'monthly') AS money_monthly,
           sum(amount) FILTER (WHERE payment_type = 'arrears') AS money_arrears,
           sum(amount) FILTER (WHERE payment_type = 'one_off') AS money_one_off,
           count(*) FILTER (WHERE payment_type = 'arrears') AS lines_arrears,
           count(*) FILTER (WHERE status = 'failed') AS lines_failed,
           sum(amount) FILTER (WHERE status = 'failed') AS money_failed
    FROM lines GROUP BY ALL
),
-- households paid = distinct cases with a monthly or arrears line, counted without a distinct over
-- every line: monthly lines are one per case and batch month (pay.live_keys) except where a failed
-- line was paid again in the same month; arrears cases are added when they had no monthly line.
monthly AS (
    SELECT month, town_code, program, case_no, status FROM lines WHERE payment_type = 'monthly'
),
failed_cases AS (
    SELECT DISTINCT month, town_code, program, case_no FROM monthly WHERE status = 'failed'
),
repeats AS (
    SELECT m.month, m.town_code, m.program, count(*) - count(DISTINCT m.case_no) AS repeats
    FROM monthly m
    SEMI JOIN failed_cases f
      ON f.month = m.month AND f.town_code = m.town_code AND f.program = m.program AND f.case_no = m.case_no
    GROUP BY ALL
),
arrears_cases AS (
    SELECT DISTINCT month, town_code, program, case_no FROM lines WHERE payment_type = 'arrears'
),
arrears_with_monthly AS (
    SELECT DISTINCT m.month, m.town_code, m.program, m.case_no
    FROM monthly m
    SEMI JOIN arrears_cases a
      ON a.month = m.month AND a.town_code = m.town_code AND a.program = m.program AND a.case_no = m.case_no
),
arrears_only AS (
    SELECT a.month, a.town_code, a.program, count(*) AS cases
    FROM arrears_cases a
    ANTI JOIN arrears_with_monthly m
      ON m.month = a.month AND m.town_code = a.town_code AND m.program = a.program AND m.case_no = a.case_no
    GROUP BY ALL
),
held AS (  -- a close holds the month it pays and, while the hold lasts, every earlier month still owed:
    -- held_amount is the month's own amount; the earlier months outstanding are counted apart
    SELECT period AS month, town_code, coalesce(program, 'unknown') AS program,
           count(DISTINCT case_no) AS held_cases, count(*) AS held_months,
           sum(amount) FILTER (WHERE period_owed >= period) AS held_amount,
           count(*) FILTER (WHERE period_owed < period) AS held_outstanding_months,
           sum(amount) FILTER (WHERE period_owed < period) AS held_outstanding_amount
    FROM pay.holds
    WHERE period BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
    GROUP BY ALL
),
recovered AS (  -- the 应追回 register: lines raised by the month's close
    SELECT r.raised_period AS month, r.town_code, p.program, count(*) AS recoveries,
           sum(r.amount_due) AS recovery_amount
    FROM pay.recovery_register r
    JOIN pay.payments p ON p.batch_no = r.batch_no AND p.line_no = r.line_no
    WHERE r.raised_period BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
    GROUP BY ALL
),
settled AS (  -- officers' entries on the register in the month (audited), recovered and waived
    SELECT CAST(date_trunc('month', CAST(json_extract_string(e.detail_json, '$.on') AS DATE)) AS DATE) AS month,
           r.town_code, p.program,
           count(*) FILTER (WHERE e.kind = 'recovery_recovered') AS recovered_lines,
           coalesce(sum(CAST(json_extract_string(e.detail_json, '$.amount') AS DECIMAL(14,2)))
               FILTER (WHERE e.kind = 'recovery_recovered'), 0) AS recovered_amount,
           count(*) FILTER (WHERE e.kind = 'recovery_waived') AS waived_lines,
           coalesce(sum(CAST(json_extract_string(e.detail_json, '$.amount') AS DECIMAL(14,2)))
               FILTER (WHERE e.kind = 'recovery_waived'), 0) AS waived_amount
    FROM audit.events e
    JOIN pay.recovery_register r
      ON r.batch_no = json_extract_string(e.detail_json, '$.batch_no')
     AND r.line_no = CAST(json_extract_string(e.detail_json, '$.line_no') AS INTEGER)
    JOIN pay.payments p ON p.batch_no = r.batch_no AND p.line_no = r.line_no
    WHERE e.kind IN ('recovery_recovered', 'recovery_waived')
      AND CAST(json_extract_string(e.detail_json, '$.on') AS DATE)
          BETWEEN CAST($first AS DATE) AND last_day(CAST($last AS DATE))
    GROUP BY ALL
),
keys AS (
    SELECT month, town_code, program FROM paid
    UNION SELECT month, town_code, program FROM held
    UNION SELECT month, town_code, program FROM recovered
    UNION SELECT month, town_code, program FROM settled
),
grid AS (
    SELECT m.month, t.town_code, g.program
    FROM months m
    CROSS JOIN (SELECT town_code FROM mart_towns UNION SELECT town_code FROM keys) t
    CROSS JOIN (SELECT program FROM mart_programs UNION SELECT program FROM keys) g
)
SELECT strftime(g.month, '%Y-%m') AS period, g.town_code, g.program,
       CAST(coalesce(p.lines, 0) AS INTEGER) AS lines,
       CAST(coalesce(p.monthly_lines, 0) - coalesce(rp.repeats, 0) + coalesce(ao.cases, 0) AS INTEGER)
           AS households_paid,
       CAST(coalesce(p.money_total, 0) AS DECIMAL(14,2)) AS money_total,
       CAST(coalesce(p.money_monthly, 0) AS DECIMAL(14,2)) AS money_monthly,
       CAST(coalesce(p.money_arrears, 0) AS DECIMAL(14,2)) AS money_arrears,
       CAST(coalesce(p.money_one_off, 0) AS DECIMAL(14,2)) AS money_one_off,
       CAST(coalesce(p.lines_arrears, 0) AS INTEGER) AS lines_arrears,
       CAST(coalesce(p.lines_failed, 0) AS INTEGER) AS lines_failed,
       CAST(coalesce(p.money_failed, 0) AS DECIMAL(14,2)) AS money_failed,
       CAST(coalesce(h.held_cases, 0) AS INTEGER) AS held_cases,
       CAST(coalesce(h.held_months, 0) AS INTEGER) AS held_months,
       CAST(coalesce(h.held_amount, 0) AS DECIMAL(14,2)) AS held_amount,
       CAST(coalesce(h.held_outstanding_months, 0) AS INTEGER) AS held_outstanding_months,
       CAST(coalesce(h.held_outstanding_amount, 0) AS DECIMAL(14,2)) AS held_outstanding_amount,
       CAST(coalesce(r.recoveries, 0) AS INTEGER) AS recoveries,
       CAST(coalesce(r.recovery_amount, 0) AS DECIMAL(14,2)) AS recovery_amount,
       CAST(coalesce(s.recovered_lines, 0) AS INTEGER) AS recovered_lines,
       CAST(coalesce(s.recovered_amount, 0) AS DECIMAL(14,2)) AS recovered_amount,
       CAST(coalesce(s.waived_lines, 0) AS INTEGER) AS waived_lines,
       CAST(coalesce(s.waived_amount, 0) AS DECIMAL(14,2)) AS waived_amount
FROM grid g
LEFT JOIN paid p ON p.month = g.month AND p.town_code = g.town_code AND p.program = g.program
LEFT JOIN repeats rp ON rp.month = g.month AND rp.town_code = g.town_code AND rp.program = g.program
LEFT JOIN arrears_only ao ON ao.month = g.month AND ao.town_code = g.town_code AND ao.program = g.program
LEFT JOIN held h ON h.month = g.month AND h.town_code = g.town_code AND h.program = g.program
LEFT JOIN recovered r ON r.month = g.month AND r.town_code = g.town_code AND r.program = g.program
LEFT JOIN settled s ON s.month = g.month AND s.town_code = g.town_code AND s.program = g.program
