-- The exported line a bank return line names by (批次号, 序号).
SELECT town_code, case_no, period_owed, account_no, amount, status FROM pay.payments
WHERE batch_no = $batch_no AND line_no = $line_no
