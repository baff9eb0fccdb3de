-- Which of the monthly flows (sample, report) already completed for a period: the
-- district cycle runs each once a month (flows/cycle.py).
SELECT DISTINCT flow
FROM audit.runs
WHERE status = 'completed' AND flow IN ('sample', 'report')
  AND json_extract_string(params_json, '$.period') = $period
ORDER BY flow
