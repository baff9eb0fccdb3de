-- What the manifest states of a month's draw: the seed, the method, when, the spot-check settings.
SELECT seed_hex, seed_source, method, drawn_on, drawn_at, spot_check_json
FROM checks.spotcheck_draws
WHERE period = $period
