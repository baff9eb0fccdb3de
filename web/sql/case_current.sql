-- A case's current version, with its account (shown masked to auditors).
SELECT v.town_code, v.case_no, v.program, v.status, v.decided_on, v.decided_level, v.monthly_benefit,
       v.benefit_from, v.household_size, v.covered_count, v.ingested_on, v.village, v.bank, v.account_no,
       v.account_holder, v.publicity_from, v.publicity_to, v.rechecked_on, v.acceptance
FROM core.case_versions v
WHERE v.town_code = $town AND v.case_no = $case_no AND v.is_current
