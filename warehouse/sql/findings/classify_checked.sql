-- How each finding of a run relates to what the warehouse holds: new, reopened, seen again, kept cleared.
SELECT CASE WHEN f.finding_id IS NULL THEN 'new'
            WHEN f.status = 'superseded' OR (f.status = 'cleared' AND f.cleared_how = 'auto')
                 OR (f.status = 'cleared' AND f.cleared_how = 'officer' AND f.cleared_amount IS NOT NULL
                     AND n.evidence_amount > f.cleared_amount * 1.1) THEN 'reopened'
            WHEN f.status = 'cleared' THEN 'kept_cleared'
            ELSE 'seen' END AS outcome,
       count(*) AS n
FROM xc_found n
LEFT JOIN checks.findings f ON f.finding_id = n.finding_id
GROUP BY ALL
ORDER BY outcome
