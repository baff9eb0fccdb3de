-- Re-validation finds the same finding again (same identity: rule, town, case,
-- ID, file hash): it is seen again with today's message, never duplicated. A
-- finding cleared automatically opens again when the rule trips again (its
-- cause is back, and it is news again); one cleared by an officer stays
-- cleared (its evidence, the file, is unchanged); a superseded one stays
-- superseded (a newer version is current).
MERGE INTO checks.findings f
USING new_findings n
ON f.finding_id = n.finding_id
WHEN MATCHED AND f.status = 'cleared' AND f.cleared_how = 'auto' THEN UPDATE SET
    status = 'open',
    message = n.message,
    last_seen_run = n.last_seen_run,
    last_seen_on = n.last_seen_on,
    status_changed_on = n.first_seen_on,
    notice_at = n.notice_at,
    cleared_how = NULL,
    cleared_by = NULL,
    clear_reason = NULL
WHEN MATCHED THEN UPDATE SET
    message = n.message,
    last_seen_run = n.last_seen_run,
    last_seen_on = n.last_seen_on
WHEN NOT MATCHED THEN INSERT BY NAME
