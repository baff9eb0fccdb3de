INSERT INTO pay.batches (batch_no, period, payer, program, kind, occasion, supplement_no, count, total, sha256,
                         status, created_at, run_id)
VALUES ($batch_no, $period, $payer, $program, $kind, $occasion, $supplement_no, $count, $total, $sha256,
        $status, $created_at, $run_id)
