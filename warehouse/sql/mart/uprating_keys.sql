-- The (program, decision month, month) combinations of the approved versions in
-- force, for the uprating lookup (transforms.entitlement.uprating_fen, per person).
SELECT DISTINCT v.program, v.program_id, coalesce(v.decision_month, f.month) AS decision_month, f.month
FROM mart_in_force f
JOIN mart_versions v ON v.case_id = f.case_id AND v.seq = f.seq
WHERE v.state = 1
