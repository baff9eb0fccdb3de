-- Error findings X02-X04, X06, X07 on an active case do not stop payment at
-- once: one still open hold_escalation_days after it was first seen blocks
-- payment (the same test as the monthly close: first_seen_on + days <= as_of).
UPDATE checks.findings f
SET blocks_payment = true, escalated_on = $as_of, notice_at = $now
WHERE f.status = 'open'
  AND list_contains($rule_ids, f.rule_id)
  AND f.severity = 'error'
  AND f.escalated_on IS NULL
  AND f.first_seen_on + CAST($days AS INTEGER) <= $as_of
  AND EXISTS (SELECT 1 FROM xc_cases c
              WHERE c.town_code = f.town_code AND c.case_no = f.case_no AND c.population = 'active')
RETURNING f.rule_id
