SELECT status, amount_due, recovered_amount, waived_amount
FROM pay.recovery_register WHERE batch_no = $b AND line_no = $l
