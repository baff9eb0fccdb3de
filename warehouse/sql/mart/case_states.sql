-- Each case in each month with the version in force (mart_in_force, from
-- month_end_in_force.sql): town_id, program_id, state, covered members and the
-- amount owed for the month (SPEC §5: monthly_benefit + uprating x covered
-- members, the per-person uprating from mart_uprating). A case is active when
-- the version in force is approved (state 1). Cases with no version in force
-- are left out. late: the version took effect before the month.
CREATE OR REPLACE TEMP TABLE mart_states AS
SELECT f.month, f.case_id, v.town_id, v.program_id, v.state,
       v.state = 1 AS active,
       v.covered_count AS persons,
       v.monthly_benefit + v.covered_count * coalesce(u.uprating, 0) AS money,
       v.is_first_approval AS first_approval,
       v.effective_month < f.month AS late
FROM mart_in_force f
JOIN mart_versions v ON v.case_id = f.case_id AND v.seq = f.seq
LEFT JOIN mart_uprating u
  ON u.program_id = v.program_id AND u.month = f.month
 AND u.decision_month = coalesce(v.decision_month, f.month)
WHERE f.seq IS NOT NULL
