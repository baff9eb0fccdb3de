-- Why a case's payment is held at the close, and for which months:
--  * open findings that block payment: X, S and B findings hold every month
--    (version_id NULL); P/V-findings (V08, V12) hold only the months owed under the
--    version that carries them (the version in force in that month);
--  * X02-X04, X06, X07 errors still open after the escalation period, counted
--    from the later of the first sighting and the first day the case was active.
WITH active AS (SELECT * FROM core.case_active_from(CAST($as_of AS DATE)))
SELECT f.town_code, f.case_no,
       CASE WHEN f.rule_id SIMILAR TO '[PV][0-9]+' THEN f.version_id END AS version_id,
       string_agg(DISTINCT f.rule_id, '、' ORDER BY f.rule_id) AS rule_ids
FROM checks.findings f
LEFT JOIN active a ON a.town_code = f.town_code AND a.case_no = f.case_no
WHERE f.status = 'open'
  AND f.case_no IS NOT NULL
  AND (
        (f.blocks_payment AND (f.rule_id NOT SIMILAR TO '[PV][0-9]+' OR f.version_id IS NOT NULL))
     OR (f.rule_id IN ('X02', 'X03', 'X04', 'X06', 'X07') AND f.severity = 'error'
         AND greatest(f.first_seen_on, coalesce(a.active_from, f.first_seen_on)) + CAST($escalation_days AS INTEGER) <= CAST($as_of AS DATE))
  )
GROUP BY ALL
