-- mart.caseload_monthly: households, persons and the monthly amount owed per
-- month, town and program, as a movement (SPEC §6):
--   opening (last month's closing) + new - exits = closing            (households)
--   opening + new - exits + changes = closing                         (persons, money)
-- A case is in month m's closing when the version in force in m (as of m's last
-- day) is approved; the key is (town, program, case), so a change of program is
-- an exit from one and a new in the other, a 停发 is an exit and a resumption a
-- new, and a late filing is new in the month it was filed. A case voided (作废)
-- has no state any more: an exit in the month it disappears. The go-live
-- month's opening is the baseline caseload (mart_states of the month before).
-- Each case's months are compared with the month before by a window over the
-- case (mart_states has a row per case and month once a version is in force).
-- Inputs: mart_states (case_states.sql, integer codes), mart_towns, mart_programs.
INSERT INTO mart.caseload_monthly BY NAME
WITH months AS (
    SELECT CAST(unnest(generate_series(CAST($first AS DATE), CAST($last AS DATE), INTERVAL 1 MONTH)) AS DATE)
        AS month
),
w AS (
    SELECT s.*,
           coalesce(lag(month) OVER c = CAST(month - INTERVAL 1 MONTH AS DATE) AND lag(active) OVER c, false)
               AS prev_active,
           lag(program_id) OVER c AS p_program, lag(persons) OVER c AS p_persons, lag(money) OVER c AS p_money,
           coalesce(lead(month) OVER c = CAST(month + INTERVAL 1 MONTH AS DATE), false) AS has_next
    FROM mart_states s
    WINDOW c AS (PARTITION BY case_id ORDER BY month)
),
closing AS (  -- every month's caseload (the month before the first too: it is the first's opening)
    SELECT month, town_id, program_id,
           count(*) AS households, sum(persons) AS persons, sum(money) AS money,
           count(*) FILTER (WHERE NOT same) AS new,
           count(*) FILTER (WHERE NOT same AND prev_active) AS new_program_change,
           count(*) FILTER (WHERE NOT same AND NOT prev_active AND first_approval) AS new_first,
           count(*) FILTER (WHERE NOT same AND NOT prev_active AND NOT first_approval) AS new_resumed,
           count(*) FILTER (WHERE NOT same AND late) AS new_late,
           sum(persons) FILTER (WHERE NOT same) AS persons_new,
           sum(money) FILTER (WHERE NOT same) AS money_new,
           sum(persons - p_persons) FILTER (WHERE same) AS persons_changes,
           sum(money - p_money) FILTER (WHERE same) AS money_changes
    FROM (SELECT *, prev_active AND p_program = program_id AS same FROM w WHERE active)
    GROUP BY ALL
),
exits AS (  -- active last month under p_program, not active under it now (by the state now)
    SELECT month, town_id, p_program AS program_id, count(*) AS exits,
           count(*) FILTER (WHERE NOT active AND state = 2) AS exit_suspended,
           count(*) FILTER (WHERE NOT active AND state = 3) AS exit_terminated,
           count(*) FILTER (WHERE active) AS exit_program_change,
           count(*) FILTER (WHERE NOT active AND state NOT IN (2, 3)) AS exit_other,
           sum(p_persons) AS persons, sum(p_money) AS money
    FROM w
    WHERE prev_active AND NOT (active AND p_program = program_id)
    GROUP BY ALL
),
voided AS (  -- active last month, no state at all this month (作废)
    SELECT CAST(month + INTERVAL 1 MONTH AS DATE) AS month, town_id, program_id, count(*) AS exits,
           sum(persons) AS persons, sum(money) AS money
    FROM w
    WHERE active AND NOT has_next
    GROUP BY ALL
),
agg_ids AS (
    SELECT m.month, k.town_id, k.program_id,
           o.households AS households_opening,
           coalesce(c.new, 0) AS households_new,
           coalesce(e.exits, 0) + coalesce(v.exits, 0) AS households_exits,
           c.households AS households_closing,
           c.new_first AS new_first_approval, c.new_resumed, c.new_program_change, c.new_late AS new_late_filed,
           e.exit_suspended AS exits_suspended, e.exit_terminated AS exits_terminated, v.exits AS exits_void,
           e.exit_program_change AS exits_program_change, e.exit_other AS exits_other,
           o.persons AS persons_opening, c.persons_new, coalesce(e.persons, 0) + coalesce(v.persons, 0)
               AS persons_exits, c.persons_changes, c.persons AS persons_closing,
           o.money AS money_opening, c.money_new, coalesce(e.money, 0) + coalesce(v.money, 0) AS money_exits,
           c.money_changes, c.money AS money_closing
    FROM months m
    JOIN (SELECT DISTINCT town_id, program_id FROM mart_states) k ON true
    LEFT JOIN closing c ON c.month = m.month AND c.town_id = k.town_id AND c.program_id = k.program_id
    LEFT JOIN closing o ON o.month = CAST(m.month - INTERVAL 1 MONTH AS DATE) AND o.town_id = k.town_id
                       AND o.program_id = k.program_id
    LEFT JOIN exits e ON e.month = m.month AND e.town_id = k.town_id AND e.program_id = k.program_id
    LEFT JOIN voided v ON v.month = m.month AND v.town_id = k.town_id AND v.program_id = k.program_id
),
agg AS (  -- the codes back to town and program (the same numbering as versions.sql)
    SELECT coalesce(t.town_code, 'unknown') AS town_code, coalesce(p.program, 'unknown') AS program, a.*
    FROM agg_ids a
    LEFT JOIN (SELECT town_code, row_number() OVER (ORDER BY town_code) AS town_id FROM mart_towns) t
           ON t.town_id = a.town_id
    LEFT JOIN (SELECT program, row_number() OVER (ORDER BY program) AS program_id FROM mart_programs) p
           ON p.program_id = a.program_id
),
grid AS (
    SELECT m.month, t.town_code, g.program
    FROM months m
    CROSS JOIN (SELECT town_code FROM mart_towns UNION SELECT town_code FROM agg) t
    CROSS JOIN (SELECT program FROM mart_programs UNION SELECT program FROM agg) g
)
SELECT strftime(g.month, '%Y-%m') AS period, g.town_code, g.program,
       CAST(coalesce(a.households_opening, 0) AS INTEGER) AS households_opening,
       CAST(coalesce(a.households_new, 0) AS INTEGER) AS households_new,
       CAST(coalesce(a.households_exits, 0) AS INTEGER) AS households_exits,
       CAST(coalesce(a.households_closing, 0) AS INTEGER) AS households_closing,
       CAST(coalesce(a.new_first_approval, 0) AS INTEGER) AS new_first_approval,
       CAST(coalesce(a.new_resumed, 0) AS INTEGER) AS new_resumed,
       CAST(coalesce(a.new_program_change, 0) AS INTEGER) AS new_program_change,
       CAST(coalesce(a.new_late_filed, 0) AS INTEGER) AS new_late_filed,
       CAST(coalesce(a.exits_suspended, 0) AS INTEGER) AS exits_suspended,
       CAST(coalesce(a.exits_terminated, 0) AS INTEGER) AS exits_terminated,
       CAST(coalesce(a.exits_void, 0) AS INTEGER) AS exits_void,
       CAST(coalesce(a.exits_program_change, 0) AS INTEGER) AS exits_program_change,
       CAST(coalesce(a.exits_other, 0) AS INTEGER) AS exits_other,
       CAST(coalesce(a.persons_opening, 0) AS INTEGER) AS persons_opening,
       CAST(coalesce(a.persons_new, 0) AS INTEGER) AS persons_new,
       CAST(coalesce(a.persons_exits, 0) AS INTEGER) AS persons_exits,
       CAST(coalesce(a.persons_changes, 0) AS INTEGER) AS persons_changes,
       CAST(coalesce(a.persons_closing, 0) AS INTEGER) AS persons_closing,
       CAST(coalesce(a.money_opening, 0) AS DECIMAL(14,2)) AS money_opening,
       CAST(coalesce(a.money_new, 0) AS DECIMAL(14,2)) AS money_new,
       CAST(coalesce(a.money_exits, 0) AS DECIMAL(14,2)) AS money_exits,
       CAST(coalesce(a.money_changes, 0) AS DECIMAL(14,2)) AS money_changes,
       CAST(coalesce(a.money_closing, 0) AS DECIMAL(14,2)) AS money_closing
FROM grid g
LEFT JOIN agg a ON a.month = g.month AND a.town_code = g.town_code AND a.program = g.program
