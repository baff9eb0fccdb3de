SELECT line_no, period_owed, payment_type, town_code, case_no, id_no, payee_name, account_no, amount, status,
       bank_reason
FROM pay.payments WHERE batch_no = $batch_no
ORDER BY line_no
