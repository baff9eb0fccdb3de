-- Findings of a cross-check run (X, M): a finding that exists already is the
-- same finding, seen again. One cleared automatically (or superseded) is
-- open again: its cause is back, and it is news again (first seen now, so an
-- escalation period starts afresh). One cleared by an officer stays cleared:
-- only a change of evidence (a new identity) raises it again, or, for X06/X07,
-- an amount more than 10% above the amount at clearing (SPEC §5).
MERGE INTO checks.findings f
USING xc_found n
ON f.finding_id = n.finding_id
WHEN MATCHED AND (f.status = 'superseded' OR (f.status = 'cleared' AND f.cleared_how = 'auto')
                  OR (f.status = 'cleared' AND f.cleared_how = 'officer' AND f.cleared_amount IS NOT NULL
                      AND n.evidence_amount > f.cleared_amount * 1.1)) THEN UPDATE SET
    status = 'open',
    severity = n.severity,
    blocks_payment = n.blocks_payment,
    message = n.message,
    source = n.source,
    evidence = n.evidence,
    evidence_amount = n.evidence_amount,
    version_id = n.version_id,
    first_seen_run = $run_id,
    first_seen_on = $as_of,
    last_seen_run = $run_id,
    last_seen_on = $as_of,
    status_changed_on = $as_of,
    notice_at = $now,
    escalated_on = NULL,
    cleared_how = NULL,
    cleared_by = NULL,
    clear_reason = NULL,
    clear_requested_on = NULL,
    confirmed_by = NULL,
    confirmed_on = NULL,
    cleared_amount = NULL
WHEN MATCHED THEN UPDATE SET
    severity = n.severity,
    blocks_payment = CASE WHEN f.escalated_on IS NOT NULL THEN true ELSE n.blocks_payment END,
    message = n.message,
    source = n.source,
    evidence = n.evidence,
    evidence_amount = n.evidence_amount,
    version_id = n.version_id,
    last_seen_run = $run_id,
    last_seen_on = $as_of
WHEN NOT MATCHED THEN INSERT
    (finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no, evidence_key, message,
     first_seen_run, last_seen_run, status, version_id, first_seen_on, status_changed_on, source, evidence,
     last_seen_on, notice_at, evidence_amount)
VALUES
    (n.finding_id, n.rule_id, n.severity, n.blocks_payment, n.town_code, n.case_no, n.id_no, n.evidence_key,
     n.message, $run_id, $run_id, 'open', n.version_id, $as_of, $as_of, n.source, n.evidence, $as_of, $now,
     n.evidence_amount)
