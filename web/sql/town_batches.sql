-- Batches a town pays itself (tekun when settings say the town pays).
SELECT batch_no, period, program, kind, count, total, status, created_at
FROM pay.batches
WHERE payer = $town
ORDER BY period DESC, batch_no
