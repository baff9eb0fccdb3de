-- The go-live opening (in_force_opening_keep.sql) added to the months in force.
INSERT INTO mart_in_force BY NAME SELECT * FROM mart_in_force_opening
