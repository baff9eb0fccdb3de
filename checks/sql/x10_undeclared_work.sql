-- X10: a member with declared income 0 has active 在职参保 (a record for the
-- month of the extract or the month before) or provident-fund contributions
-- (status 缴存). Evidence key: 'insured' or 'provident'.
SELECT town_code, case_no, id_no, 'insured' AS contribution, '在职参保' AS contribution_text,
       '缴费期 ' || max(period) AS detail
FROM xc_reg_social_insurance
WHERE monthly_income = 0
  AND kind = '在职参保'
  AND period_month >= CAST(date_trunc('month', extract_date) - INTERVAL 1 MONTH AS DATE)
  AND period_month <= $check_month
GROUP BY town_code, case_no, id_no
UNION ALL
SELECT town_code, case_no, id_no, 'provident' AS contribution, '住房公积金缴存' AS contribution_text,
       '月缴存额 ' || coalesce(CAST(max(monthly_contribution) AS VARCHAR), '不详') || ' 元' AS detail
FROM xc_reg_provident_fund
WHERE monthly_income = 0 AND status = '缴存'
GROUP BY town_code, case_no, id_no
