-- Given-up items the district's digest has just told (sent_keys: cycle_id, seq).
UPDATE audit.notification_queue AS q
SET reported_at = $now
FROM sent_keys k
WHERE q.cycle_id = k.cycle_id AND q.seq = k.seq
