-- The months a close of the period held back, and why (the hold list).
SELECT town_code, case_no, period_owed, program, amount, reason FROM pay.holds WHERE period = $period
ORDER BY town_code, case_no, period_owed
