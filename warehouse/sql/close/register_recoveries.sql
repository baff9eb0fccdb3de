-- The 应追回 register (SPEC §6): each line to recover is listed once, with its
-- reason, and stays until an officer records it recovered or waived. A line
-- already listed and still open takes the larger amount if a later close finds
-- more to recover (e.g. the excess became the whole line).
INSERT INTO pay.recovery_register
    (batch_no, line_no, town_code, case_no, period_owed, paid_amount, amount_due, reason, raised_period,
     raised_on, status)
SELECT batch_no, line_no, town_code, case_no, period_owed, paid_amount, amount, reason, period,
       CAST($as_of AS DATE), 'open'
FROM r
ON CONFLICT (batch_no, line_no) DO UPDATE SET
    amount_due = CASE WHEN recovery_register.status = 'open' AND excluded.amount_due > recovery_register.amount_due
                      THEN excluded.amount_due ELSE recovery_register.amount_due END,
    reason = CASE WHEN recovery_register.status = 'open' AND excluded.amount_due > recovery_register.amount_due
                  THEN excluded.reason ELSE recovery_register.reason END
