-- The versions one ingest run stored (rejected ones included; unchanged submissions store none).
SELECT version_id
FROM core.case_versions
WHERE run_id = $run_id
