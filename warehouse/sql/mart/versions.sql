-- The loaded case versions the statistics count (SPEC §2 acceptance: loaded or
-- loaded with errors), with small integer codes so the month-by-month work runs
-- on integers: case_id numbers the cases (town_code, case_no); town_id and
-- program_id index mart_towns / mart_programs (0 when outside them); state:
-- 1 approved, 2 停发, 3 终止, 4 作废, 5 an application (已受理/调查中/待审批),
-- 6 不予批准. known_on: the day the bureau knew the version (its ingest date; a
-- rejected version released by officers, from its release date). The version
-- of a case within one file is identified by (case_id, seq).
CREATE OR REPLACE TEMP TABLE mart_versions AS
SELECT dense_rank() OVER (ORDER BY v.town_code, v.case_no) AS case_id,
       v.town_code, v.case_no, v.seq, v.version_id, v.program, v.status,
       CAST(coalesce(t.town_id, 0) AS SMALLINT) AS town_id,
       CAST(coalesce(p.program_id, 0) AS TINYINT) AS program_id,
       CAST(CASE v.status WHEN 'approved' THEN 1 WHEN 'suspended' THEN 2 WHEN 'terminated' THEN 3
                          WHEN 'void' THEN 4 WHEN 'received' THEN 5 WHEN 'investigating' THEN 5
                          WHEN 'pending' THEN 5 WHEN 'denied' THEN 6 ELSE 0 END AS TINYINT) AS state,
       v.effective_month, v.is_baseline, v.is_first_approval, v.covered_count,
       coalesce(v.monthly_benefit, 0) AS monthly_benefit,
       -- the base month of the uprating (SPEC §5; transforms.payments.uprating_base_month):
       -- the go-live month for a baseline version and for one without 审批日期
       CASE WHEN v.is_baseline OR v.decided_on IS NULL THEN CAST($go_live AS DATE)
            ELSE CAST(date_trunc('month', v.decided_on) AS DATE) END AS decision_month,
       greatest(v.ingested_on, coalesce(r.released_on, v.ingested_on)) AS known_on
FROM core.case_versions v
LEFT JOIN checks.released_versions r ON r.version_id = v.version_id
LEFT JOIN (SELECT town_code, row_number() OVER (ORDER BY town_code) AS town_id FROM mart_towns) t
       ON t.town_code = v.town_code
LEFT JOIN (SELECT program, row_number() OVER (ORDER BY program) AS program_id FROM mart_programs) p
       ON p.program = v.program
WHERE v.acceptance IN ('loaded', 'loaded_with_errors')
