-- The last supplement number of each payer and program's batches of one kind in a period
-- (the next batch of the period is numbered one higher).
SELECT payer, program, max(supplement_no) FROM pay.batches WHERE period = $period AND kind = $kind
GROUP BY ALL
