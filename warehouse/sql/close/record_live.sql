-- Claim the never-twice keys of newly exported lines (a duplicate key fails the whole close).
INSERT INTO pay.live_keys (town_code, case_no, period_owed, batch_no, line_no)
SELECT town_code, case_no, period_owed, batch_no, line_no FROM new_payments
WHERE payment_type IN ('monthly', 'arrears')
