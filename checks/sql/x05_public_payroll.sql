-- X05: a member is on the public payroll (a flag needing an explanation).
-- Evidence key: the employer.
SELECT town_code, case_no, id_no,
       coalesce(employer, '（未注明单位）') AS employer,
       coalesce(strftime(min(since), '%Y-%m-%d'), '') AS since
FROM xc_reg_public_payroll
GROUP BY town_code, case_no, id_no, coalesce(employer, '（未注明单位）')
