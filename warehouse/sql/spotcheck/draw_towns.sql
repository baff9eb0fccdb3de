-- Each town of a month's draw, for the manifest.
SELECT *
FROM checks.spotcheck_towns
WHERE period = $period
ORDER BY town_code
