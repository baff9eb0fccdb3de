-- The lines on the 应追回 register still to be recovered, with the payee, for the
-- period's 应追回.xlsx (a line stays listed until recovered or waived).
SELECT r.town_code, r.case_no, p.id_no, r.period_owed, r.batch_no, r.line_no, r.paid_amount, r.amount_due,
       r.reason, r.raised_period
FROM pay.recovery_register r
JOIN pay.payments p USING (batch_no, line_no)
WHERE r.status = 'open' AND r.raised_period <= $p
ORDER BY r.town_code, r.case_no, r.period_owed, r.batch_no, r.line_no
