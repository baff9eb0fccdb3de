-- S01 findings raised by inspection results (SPEC §5): identity is
-- (S01, town, case, no member, evidence = result file SHA-256 ':' inspection
-- date), so reading the same result again finds the same finding; a finding
-- that exists already is only seen again (an officer's clearing stands).
MERGE INTO checks.findings f
USING new_s01 n
ON f.finding_id = n.finding_id
WHEN MATCHED THEN UPDATE SET last_seen_run = n.last_seen_run, last_seen_on = n.last_seen_on
WHEN NOT MATCHED THEN INSERT BY NAME
