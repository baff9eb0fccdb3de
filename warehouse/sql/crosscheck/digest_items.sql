-- What is new for each tag (xc_since: the tags) since its cross-check items were last
-- queued (audit.notification_queue, flow 'crosscheck'): cross-check and
-- dynamic-management findings that became news (first seen, reopened or escalated)
-- after that time and are still open. Once queued, an item waits in the queue until it
-- is delivered (notify/queue.py), so a digest that failed, or another flow's digest
-- delivered meanwhile, never hides it; a run killed before it queued its items leaves
-- them for the next one. Before migration 0015 (no queue for every run), the time of
-- the tag's last digest delivered then counts too.
-- M03 goes to the district; everything else to the case's town.
WITH epoch AS (
    SELECT max(applied_at) AS at FROM audit.schema_migrations WHERE version = 15
), queued AS (
    SELECT tag, max(queued_at) AS at FROM audit.notification_queue WHERE flow = 'crosscheck' GROUP BY tag
), before_epoch AS (
    SELECT n.tag, max(n.sent_at) AS at
    FROM audit.notifications n, epoch
    WHERE n.status = 'delivered' AND n.sent_at < epoch.at
    GROUP BY n.tag
), since AS (
    SELECT s.tag,
           CASE WHEN q.at IS NULL THEN b.at WHEN b.at IS NULL THEN q.at ELSE greatest(q.at, b.at) END AS since
    FROM xc_since s
    LEFT JOIN queued q ON q.tag = s.tag
    LEFT JOIN before_epoch b ON b.tag = s.tag
)
SELECT s.tag, f.finding_id, f.rule_id, f.town_code, f.case_no, f.id_no, f.message, f.blocks_payment,
       f.escalated_on IS NOT NULL AS escalated
FROM checks.findings f
JOIN since s
  ON s.tag = CASE WHEN f.rule_id = 'M03' THEN 'district' ELSE f.town_code END
WHERE f.status = 'open'
  AND list_contains($rule_ids, f.rule_id)
  AND f.notice_at IS NOT NULL
  AND (s.since IS NULL OR f.notice_at > s.since)
ORDER BY s.tag, f.case_no, f.rule_id, f.finding_id
