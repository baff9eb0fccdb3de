-- B01 (SPEC §5): the bank returned a line as failed. The same account of the
-- same case is the same finding: raised again, it is open again and seen by
-- this run, with the latest failure's message.
INSERT INTO checks.findings (finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no,
                             evidence_key, message, first_seen_run, last_seen_run, status, first_seen_on)
VALUES ($finding_id, 'B01', $severity, $blocks_payment, $town_code, $case_no, NULL,
        $evidence_key, $message, $run_id, $run_id, 'open', $as_of)
ON CONFLICT (finding_id) DO UPDATE SET status = 'open', last_seen_run = excluded.last_seen_run,
    message = excluded.message
