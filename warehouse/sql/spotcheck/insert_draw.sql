-- Store a month's draw: its one row (registered as new_draw).
INSERT INTO checks.spotcheck_draws BY NAME SELECT * FROM new_draw
