-- validate --all: an open V-finding of a re-checked version that the rules no
-- longer raise is cleared automatically (SPEC §5 "Resolving findings"), and
-- counted with the other automatic clearings (cleared_how = 'auto').
-- $rules: the rule ids re-checked; $baseline: which versions they were
-- re-checked on (baseline versions are checked with the baseline rules only).
-- A clearing an officer has requested but not yet confirmed is left to them.
UPDATE checks.findings f
SET status = 'cleared',
    status_changed_on = $as_of,
    cleared_how = 'auto',
    cleared_by = $cleared_by,
    clear_reason = $reason
FROM core.case_versions v
WHERE f.version_id = v.version_id
  AND v.version_id IN (SELECT version_id FROM scope)
  AND v.is_baseline = $baseline
  AND f.status = 'open'
  AND f.clear_requested_on IS NULL
  AND list_contains($rules, f.rule_id)
  AND f.finding_id NOT IN (SELECT finding_id FROM new_findings)
RETURNING f.finding_id, f.rule_id, f.town_code
