SELECT run_id, flow, started_at, finished_at, status, as_of, error
FROM audit.runs
ORDER BY started_at DESC
LIMIT 200
