SELECT batch_no, line_no, period_owed, payment_type, amount, status, bank_reason
FROM pay.payments
WHERE town_code = $town AND case_no = $case_no
ORDER BY period_owed DESC, batch_no
LIMIT 60
