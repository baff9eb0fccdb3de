-- One more attempt for the items a digest is about to carry (sent_keys: cycle_id, seq),
-- recorded before sending: an attempt cut short by a crash still counts.
UPDATE audit.notification_queue AS q
SET attempts = q.attempts + 1, last_attempt_at = $now
FROM sent_keys k
WHERE q.cycle_id = k.cycle_id AND q.seq = k.seq
