-- A finding that exists already is the same finding: it is seen again (and
-- reopened only if it had been superseded); a new one is inserted.
MERGE INTO checks.findings f
USING new_findings n
ON f.finding_id = n.finding_id
WHEN MATCHED THEN UPDATE SET
    last_seen_run = n.last_seen_run,
    message = n.message,
    status = CASE WHEN f.status = 'superseded' THEN 'open' ELSE f.status END
WHEN NOT MATCHED THEN INSERT BY NAME
