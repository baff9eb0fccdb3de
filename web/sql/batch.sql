SELECT batch_no, period, payer, program, kind, occasion, count, total, status, created_at, voided_at, voided_by,
       void_reason
FROM pay.batches WHERE batch_no = $batch_no
