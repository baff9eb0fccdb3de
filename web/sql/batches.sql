SELECT batch_no, period, payer, program, kind, occasion, count, total, status, created_at, voided_by, void_reason,
       (SELECT count(*) FROM pay.payments p WHERE p.batch_no = b.batch_no AND p.status = 'failed') AS failed
FROM pay.batches b
ORDER BY period DESC, batch_no
LIMIT 500
