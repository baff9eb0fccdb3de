-- Lines that count as paid or being paid: exported or paid (not voided, not failed).
SELECT p.batch_no, p.line_no, p.town_code, p.case_no, p.period_owed, p.amount, p.payment_type, p.status
FROM pay.payments p
WHERE p.status IN ('exported', 'paid') AND p.payment_type IN ('monthly', 'arrears')
