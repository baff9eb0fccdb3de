-- mart.district_monthly: the district's totals per month and program, the sum
-- of the towns' rows of mart.monthly_statistics (averages and rates are
-- recomputed from the summed counts, never averaged).
INSERT INTO mart.district_monthly BY NAME
SELECT period, program, any_value(program_label) AS program_label, count(*) AS towns,
       sum(households_opening) AS households_opening, sum(households_new) AS households_new,
       sum(households_exits) AS households_exits, sum(households_closing) AS households_closing,
       sum(persons_opening) AS persons_opening, sum(persons_new) AS persons_new,
       sum(persons_exits) AS persons_exits, sum(persons_changes) AS persons_changes,
       sum(persons_closing) AS persons_closing,
       sum(money_owed_opening) AS money_owed_opening, sum(money_owed_new) AS money_owed_new,
       sum(money_owed_exits) AS money_owed_exits, sum(money_owed_changes) AS money_owed_changes,
       sum(money_owed_closing) AS money_owed_closing,
       sum(households_paid) AS households_paid, sum(money_paid) AS money_paid,
       sum(money_paid_monthly) AS money_paid_monthly, sum(money_paid_arrears) AS money_paid_arrears,
       sum(money_paid_one_off) AS money_paid_one_off,
       sum(held_cases) AS held_cases, sum(held_amount) AS held_amount,
       sum(held_outstanding_months) AS held_outstanding_months,
       sum(held_outstanding_amount) AS held_outstanding_amount,
       sum(recoveries) AS recoveries, sum(recovery_amount) AS recovery_amount,
       sum(recovered_lines) AS recovered_lines, sum(recovered_amount) AS recovered_amount,
       sum(waived_lines) AS waived_lines, sum(waived_amount) AS waived_amount,
       sum(cases_first_filed) AS cases_first_filed, sum(applications_pending) AS applications_pending,
       sum(decisions) AS decisions, sum(first_approvals) AS first_approvals, sum(denials) AS denials,
       sum(decision_days_total) AS decision_days_total,
       CASE WHEN sum(decisions) > 0 THEN sum(decision_days_total) / sum(decisions) END AS decision_days_avg,
       sum(decisions_over_limit) AS decisions_over_limit,
       sum(breaches_v07) AS breaches_v07, sum(overdue_m02) AS overdue_m02,
       sum(versions_submitted) AS versions_submitted, sum(versions_rejected) AS versions_rejected,
       CASE WHEN sum(versions_submitted) > 0 THEN sum(versions_rejected) / sum(versions_submitted) END
           AS rejection_rate,
       sum(checked) AS checked, sum(checked_with_hits) AS checked_with_hits,
       CASE WHEN sum(checked) > 0 THEN sum(checked_with_hits) / sum(checked) END AS hit_rate,
       sum(crosscheck_hits) AS crosscheck_hits,
       sum(crosscheck_hits_applications) AS crosscheck_hits_applications,
       sum(crosscheck_hits_active) AS crosscheck_hits_active, sum(findings_raised) AS findings_raised,
       sum(clearings) AS clearings, sum(clearings_officer) AS clearings_officer,
       sum(inspection_population) AS inspection_population, sum(inspection_sampled) AS inspection_sampled,
       sum(inspection_inspected) AS inspection_inspected, sum(inspection_not_true) AS inspection_not_true,
       CASE WHEN sum(inspection_inspected) > 0 THEN sum(inspection_not_true) / sum(inspection_inspected) END
           AS inspection_error_rate
FROM mart.monthly_statistics
WHERE period BETWEEN $first_period AND $last_period
GROUP BY period, program
