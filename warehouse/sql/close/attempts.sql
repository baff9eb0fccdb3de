-- How many attempts each (case, month owed) has had (voided or failed ones included).
SELECT town_code, case_no, period_owed, count(*) AS attempts
FROM pay.payments WHERE payment_type IN ('monthly', 'arrears')
GROUP BY ALL
