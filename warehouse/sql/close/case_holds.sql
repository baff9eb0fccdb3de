-- Why a case's payment is held at the close: open findings that block payment
-- (P/V-findings only when they belong to the case's current version), and
-- X02-X04, X06, X07 errors on an active case still open after the escalation
-- period.
SELECT f.town_code, f.case_no,
       string_agg(DISTINCT f.rule_id, '、' ORDER BY f.rule_id) AS rule_ids
FROM checks.findings f
LEFT JOIN core.case_versions cur
  ON cur.town_code = f.town_code AND cur.case_no = f.case_no AND cur.is_current
WHERE f.status = 'open'
  AND f.case_no IS NOT NULL
  AND (
        (f.blocks_payment AND (f.rule_id NOT SIMILAR TO '[PV][0-9]+' OR f.version_id = cur.version_id))
     OR (f.rule_id IN ('X02', 'X03', 'X04', 'X06', 'X07') AND f.severity = 'error'
         AND f.first_seen_on + CAST($escalation_days AS INTEGER) <= CAST($as_of AS DATE))
  )
GROUP BY f.town_code, f.case_no
