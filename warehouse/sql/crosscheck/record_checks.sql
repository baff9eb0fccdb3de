-- The applications checked by this run (SPEC §6 核对报告): each is checked
-- when it first arrives, whenever a new version of it is ingested, after each
-- new registry extract, and whenever this run found something new about it
-- (e.g. another application now shares a member). One row per date, case and
-- version; a re-run the same day keeps the row and notes the latest run.
INSERT INTO checks.crosscheck_checks
    (check_date, town_code, case_no, version_id, registry_digest, reason, run_id, checked_at)
SELECT $as_of, c.town_code, c.case_no, c.version_id, $digest,
       CASE WHEN l.version_id IS NULL THEN 'new_application'
            WHEN l.version_id <> c.version_id THEN 'new_version'
            WHEN l.registry_digest <> $digest THEN 'new_extract'
            ELSE 'new_finding' END,
       $run_id, $now
FROM xc_cases c
LEFT JOIN (
    SELECT town_code, case_no,
           arg_max(version_id, checked_at) AS version_id,
           arg_max(registry_digest, checked_at) AS registry_digest
    FROM checks.crosscheck_checks
    GROUP BY town_code, case_no
) l ON l.town_code = c.town_code AND l.case_no = c.case_no
LEFT JOIN (
    SELECT DISTINCT town_code, case_no
    FROM checks.findings
    WHERE first_seen_run = $run_id AND status = 'open' AND rule_id LIKE 'X%'
) fresh ON fresh.town_code = c.town_code AND fresh.case_no = c.case_no
WHERE c.population = 'application'
  AND (l.version_id IS NULL OR l.version_id <> c.version_id OR l.registry_digest <> $digest
       OR fresh.case_no IS NOT NULL)
ON CONFLICT (check_date, town_code, case_no, version_id) DO UPDATE SET
    registry_digest = excluded.registry_digest, run_id = excluded.run_id, checked_at = excluded.checked_at
