-- What became of the digest that carried these items (sent_keys): delivered; no target
-- at all; or failed, then tried again after notify_backoff_minutes x 2^(attempts-1), and
-- given up once attempts reach notify_max_attempts.
UPDATE audit.notification_queue AS q
SET status = CASE
        WHEN $status = 'delivered' THEN 'delivered'
        WHEN $status = 'no_target' THEN 'no_target'
        WHEN q.attempts >= $max_attempts THEN 'given_up'
        ELSE 'pending' END,
    sent_at = CASE WHEN $status = 'delivered' THEN $sent_at ELSE q.sent_at END,
    next_attempt_at = CASE
        WHEN $status = 'failed' AND q.attempts < $max_attempts
        THEN $now + to_minutes(CAST($backoff_minutes * pow(2, q.attempts - 1) AS BIGINT)) END,
    given_up_at = CASE WHEN $status = 'failed' AND q.attempts >= $max_attempts THEN $now ELSE q.given_up_at END,
    notification_id = $notification_id
FROM sent_keys k
WHERE q.cycle_id = k.cycle_id AND q.seq = k.seq
