-- The cross-check population (SPEC §5): every case whose current version is
-- approved (*active*) or received, investigating or pending (*applications*).
-- A 停发, 终止, 作废 or 不予批准 current version is in neither. Registered by
-- checks/crosscheck.py: xc_programs (program, family, standard_kind) and
-- xc_towns (code, kind) from the run's reference tables. `hh` is an integer
-- key of the household for this run only (the row id of its current version:
-- fast grouping and joins).
CREATE OR REPLACE TEMP TABLE xc_cases AS
SELECT v.rowid AS hh,
       v.town_code, v.case_no, v.version_id, v.program, p.family,
       -- tekun is measured against the dibao standard of the town's kind (街道 urban, 镇 rural)
       CASE WHEN p.family = 'tekun' THEN (CASE WHEN t.kind = '街道' THEN 'dibao_urban' ELSE 'dibao_rural' END)
            ELSE p.standard_kind END AS income_standard,
       v.status,
       CASE WHEN v.status = 'approved' THEN 'active' ELSE 'application' END AS population,
       v.received_on, v.decided_on, v.rechecked_on,
       coalesce(v.extended, false) AS extended,
       coalesce(v.gradual_exit, false) AS gradual_exit,
       nullif(regexp_replace(coalesce(v.account_no, ''), '\s', '', 'g'), '') AS account_no,
       v.household_size, v.covered_count
FROM core.case_versions v
LEFT JOIN xc_programs p ON p.program = v.program
LEFT JOIN xc_towns t ON t.code = v.town_code
WHERE v.is_current AND v.status IN ('approved', 'received', 'investigating', 'pending')
