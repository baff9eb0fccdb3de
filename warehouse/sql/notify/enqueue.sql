-- Queue the items of one run (registered as queued_items, ordered by ord) into a batch:
-- an item the queue already holds for the same run (same tag, content and occurrence)
-- is not queued twice, so a run's items may be queued by the run and by a later sweep.
INSERT INTO audit.notification_queue
    (cycle_id, seq, tag, flow, kind, rule_id, case_no, message, member, n, queued_at,
     run_id, occurrence, status, attempts)
SELECT $batch, $start + row_number() OVER (ORDER BY q.ord), q.tag, $flow, q.kind, q.rule_id, q.case_no,
       q.message, q.member, q.n, $now, $run_id, q.occurrence, 'pending', 0
FROM queued_items q
WHERE $run_id IS NULL OR NOT EXISTS (
    SELECT 1 FROM audit.notification_queue e
    WHERE e.run_id = $run_id AND e.flow = $flow AND e.tag = q.tag AND e.kind = q.kind
      AND e.rule_id = q.rule_id AND e.case_no IS NOT DISTINCT FROM q.case_no AND e.message = q.message
      AND e.member IS NOT DISTINCT FROM q.member AND e.n = q.n AND e.occurrence = q.occurrence)
