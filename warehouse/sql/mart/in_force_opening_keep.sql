-- The go-live month's baseline caseload (mart_in_force built with baseline_only true) kept as the
-- month before go-live: the opening of the go-live month.
CREATE OR REPLACE TEMP TABLE mart_in_force_opening AS
SELECT CAST(month - INTERVAL 1 MONTH AS DATE) AS month, case_id, seq, latest_state, latest_program
FROM mart_in_force
