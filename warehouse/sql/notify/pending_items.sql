-- The pending items to send now, for every tag that has one due: queued in this batch,
-- never tried (the items of a run or cycle killed before it sent them), or past the
-- backoff of their last failed attempt. A tag sent carries all its pending items.
WITH due_tags AS (
    SELECT DISTINCT tag
    FROM audit.notification_queue
    WHERE status = 'pending'
      AND (cycle_id = $batch OR attempts = 0 OR next_attempt_at IS NULL OR next_attempt_at <= $now)
)
SELECT q.cycle_id, q.seq, q.tag, q.kind, q.rule_id, q.case_no, q.message, q.member, q.n, q.attempts
FROM audit.notification_queue q
JOIN due_tags d ON d.tag = q.tag
WHERE q.status = 'pending'
ORDER BY q.tag, q.queued_at, q.cycle_id, q.seq
