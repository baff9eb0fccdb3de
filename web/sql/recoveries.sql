-- The 应追回 register: lines to recover, open first.
SELECT r.batch_no, r.line_no, r.town_code, r.case_no, r.period_owed, r.paid_amount, r.amount_due, r.reason,
       r.raised_period, r.status, r.recovered_amount, r.waived_amount,
       r.amount_due - r.recovered_amount - r.waived_amount AS outstanding, r.resolved_by, r.resolved_on,
       p.id_no
FROM pay.recovery_register r
LEFT JOIN pay.payments p USING (batch_no, line_no)
WHERE (CAST($town AS VARCHAR) IS NULL OR r.town_code = $town)
  AND (CAST($status AS VARCHAR) = 'all' OR r.status = $status)
ORDER BY r.status = 'open' DESC, r.town_code, r.case_no, r.period_owed
LIMIT 2000
