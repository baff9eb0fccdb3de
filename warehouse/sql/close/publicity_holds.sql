-- Cases still in the publicity period of their first approved version.
SELECT town_code, case_no, max(publicity_to) AS publicity_to
FROM core.case_versions
WHERE is_first_approval AND acceptance IN ('loaded', 'loaded_with_errors')
  AND publicity_to IS NOT NULL AND publicity_to >= $as_of
GROUP BY ALL
