-- The versions ingested on one as-of date (what `jiuzhu run validate` re-checks without --all).
SELECT version_id
FROM core.case_versions
WHERE ingested_on = $as_of
