-- mart.monthly_statistics: one wide row per month, town and program with every
-- figure of the monthly report (SPEC §6): the caseload movement, money paid,
-- holds and recoveries, processing, rejections, cross-check hits, clearings
-- and spot inspections (zeros until mart.inspections_monthly exists).
-- Built from the other mart tables of the same months; inputs mart_towns,
-- mart_programs, mart_inspections (inspections_source.sql or inspections_empty.sql).
INSERT INTO mart.monthly_statistics BY NAME
WITH c AS (
    SELECT * FROM mart.caseload_monthly WHERE period BETWEEN $first_period AND $last_period
),
f AS (
    SELECT period, town_code, program,
           sum(raised) FILTER (WHERE rule_id LIKE 'X%') AS crosscheck_hits,
           sum(raised) AS findings_raised,
           sum(cleared_auto + cleared_officer + confirmed) AS clearings,
           sum(cleared_officer + confirmed) AS clearings_officer
    FROM mart.findings_monthly WHERE period BETWEEN $first_period AND $last_period
    GROUP BY ALL
),
i AS (
    SELECT period, town_code, program, sum(population) AS population, sum(sampled) AS sampled,
           sum(inspected) AS inspected, sum(not_true) AS not_true
    FROM mart_inspections WHERE period BETWEEN $first_period AND $last_period
    GROUP BY ALL
)
SELECT c.period, c.town_code, t.town_name, c.program, g.program_label,
       c.households_opening, c.households_new, c.households_exits, c.households_closing,
       c.persons_opening, c.persons_new, c.persons_exits, c.persons_changes, c.persons_closing,
       c.money_opening AS money_owed_opening, c.money_new AS money_owed_new, c.money_exits AS money_owed_exits,
       c.money_changes AS money_owed_changes, c.money_closing AS money_owed_closing,
       coalesce(p.households_paid, 0) AS households_paid,
       coalesce(p.money_total, 0) AS money_paid,
       coalesce(p.money_monthly, 0) AS money_paid_monthly,
       coalesce(p.money_arrears, 0) AS money_paid_arrears,
       coalesce(p.money_one_off, 0) AS money_paid_one_off,
       coalesce(p.held_cases, 0) AS held_cases,
       coalesce(p.held_amount, 0) AS held_amount,
       coalesce(p.held_outstanding_months, 0) AS held_outstanding_months,
       coalesce(p.held_outstanding_amount, 0) AS held_outstanding_amount,
       coalesce(p.recoveries, 0) AS recoveries,
       coalesce(p.recovery_amount, 0) AS recovery_amount,
       coalesce(p.recovered_lines, 0) AS recovered_lines,
       coalesce(p.recovered_amount, 0) AS recovered_amount,
       coalesce(p.waived_lines, 0) AS waived_lines,
       coalesce(p.waived_amount, 0) AS waived_amount,
       coalesce(r.cases_first_filed, 0) AS cases_first_filed,
       coalesce(r.applications_pending, 0) AS applications_pending,
       coalesce(r.decisions, 0) AS decisions,
       coalesce(r.first_approvals, 0) AS first_approvals,
       coalesce(r.denials, 0) AS denials,
       coalesce(r.decision_days_total, 0) AS decision_days_total,
       r.decision_days_avg,
       coalesce(r.decisions_over_limit, 0) AS decisions_over_limit,
       coalesce(r.breaches_v07, 0) AS breaches_v07,
       coalesce(r.overdue_m02, 0) AS overdue_m02,
       coalesce(r.versions_submitted, 0) AS versions_submitted,
       coalesce(r.versions_rejected, 0) AS versions_rejected,
       r.rejection_rate,
       coalesce(r.checked, 0) AS checked,
       coalesce(r.checked_with_hits, 0) AS checked_with_hits,
       r.hit_rate,
       CAST(coalesce(f.crosscheck_hits, 0) AS INTEGER) AS crosscheck_hits,
       coalesce(r.crosscheck_hits_applications, 0) AS crosscheck_hits_applications,
       coalesce(r.crosscheck_hits_active, 0) AS crosscheck_hits_active,
       CAST(coalesce(f.findings_raised, 0) AS INTEGER) AS findings_raised,
       CAST(coalesce(f.clearings, 0) AS INTEGER) AS clearings,
       CAST(coalesce(f.clearings_officer, 0) AS INTEGER) AS clearings_officer,
       CAST(coalesce(i.population, 0) AS INTEGER) AS inspection_population,
       CAST(coalesce(i.sampled, 0) AS INTEGER) AS inspection_sampled,
       CAST(coalesce(i.inspected, 0) AS INTEGER) AS inspection_inspected,
       CAST(coalesce(i.not_true, 0) AS INTEGER) AS inspection_not_true,
       CASE WHEN coalesce(i.inspected, 0) > 0 THEN i.not_true / i.inspected END AS inspection_error_rate
FROM c
LEFT JOIN mart_towns t ON t.town_code = c.town_code
LEFT JOIN mart_programs g ON g.program = c.program
LEFT JOIN mart.payments_monthly p ON p.period = c.period AND p.town_code = c.town_code AND p.program = c.program
LEFT JOIN mart.processing_monthly r ON r.period = c.period AND r.town_code = c.town_code AND r.program = c.program
LEFT JOIN f ON f.period = c.period AND f.town_code = c.town_code AND f.program = c.program
LEFT JOIN i ON i.period = c.period AND i.town_code = c.town_code AND i.program = c.program
