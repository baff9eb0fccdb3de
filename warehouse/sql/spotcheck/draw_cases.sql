-- Every population case of a month's draw, for the manifest.
SELECT *
FROM checks.spotcheck_cases
WHERE period = $period
ORDER BY town_code, case_no
