-- Store a month's draw: each town's ratio, population and counts (registered as new_towns).
INSERT INTO checks.spotcheck_towns BY NAME SELECT * FROM new_towns
