-- Error findings X02-X04, X06, X07 on an active case do not stop payment at
-- once: one still open hold_escalation_days after the later of its first
-- sighting and the first day the case was active blocks payment (a hit on an
-- application gives the town its full period once payment starts; the same
-- test as the monthly close's close/case_holds.sql).
UPDATE checks.findings f
SET blocks_payment = true, escalated_on = $as_of, notice_at = $now
WHERE f.status = 'open'
  AND list_contains($rule_ids, f.rule_id)
  AND f.severity = 'error'
  AND f.escalated_on IS NULL
  AND greatest(f.first_seen_on, coalesce((
          SELECT a.active_from FROM core.case_active_from(CAST($as_of AS DATE)) a
          WHERE a.town_code = f.town_code AND a.case_no = f.case_no), f.first_seen_on))
      + CAST($days AS INTEGER) <= $as_of
  AND EXISTS (SELECT 1 FROM xc_cases c
              WHERE c.town_code = f.town_code AND c.case_no = f.case_no AND c.population = 'active')
RETURNING f.rule_id
