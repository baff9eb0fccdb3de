-- A rejected version whose open errors have all been cleared, and whether it became current.
INSERT INTO checks.released_versions VALUES ($version_id, $town_code, $case_no, $on, $officer, $became)
ON CONFLICT DO NOTHING
