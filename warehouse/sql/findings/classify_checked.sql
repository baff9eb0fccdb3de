-- How each finding of a run relates to what the warehouse holds: new, reopened, seen again, kept cleared.
SELECT CASE WHEN f.finding_id IS NULL THEN 'new'
            WHEN f.status = 'superseded' OR (f.status = 'cleared' AND f.cleared_how = 'auto') THEN 'reopened'
            WHEN f.status = 'cleared' THEN 'kept_cleared'
            ELSE 'seen' END AS outcome,
       count(*) AS n
FROM xc_found n
LEFT JOIN checks.findings f ON f.finding_id = n.finding_id
GROUP BY ALL
ORDER BY outcome
