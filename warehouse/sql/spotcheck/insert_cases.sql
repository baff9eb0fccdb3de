-- Store a month's draw: every population case, selected or not (registered as new_cases).
INSERT INTO checks.spotcheck_cases BY NAME SELECT * FROM new_cases
