-- What is new for each tag since its last delivered digest (xc_since: tag,
-- since): cross-check and dynamic-management findings that became news
-- (first seen, reopened or escalated) after that time and are still open.
-- M03 goes to the district; everything else to the case's town.
SELECT s.tag, f.finding_id, f.rule_id, f.town_code, f.case_no, f.id_no, f.message, f.blocks_payment,
       f.escalated_on IS NOT NULL AS escalated
FROM checks.findings f
JOIN xc_since s
  ON s.tag = CASE WHEN f.rule_id = 'M03' THEN 'district' ELSE f.town_code END
WHERE f.status = 'open'
  AND list_contains($rule_ids, f.rule_id)
  AND f.notice_at IS NOT NULL
  AND (s.since IS NULL OR f.notice_at > s.since)
ORDER BY s.tag, f.case_no, f.rule_id, f.finding_id
