-- validate --all: every current version (SPEC §2 "current": the latest loaded version of a case).
SELECT version_id
FROM core.case_versions
WHERE is_current
