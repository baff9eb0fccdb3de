-- Items of the towns given up after the last attempt and not yet told to the district.
SELECT cycle_id, seq, tag, kind, rule_id, case_no, message, member, n, attempts
FROM audit.notification_queue
WHERE status = 'given_up' AND reported_at IS NULL AND tag <> 'district'
ORDER BY tag, queued_at, cycle_id, seq
