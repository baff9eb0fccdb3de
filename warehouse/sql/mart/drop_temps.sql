-- The temporary tables of a build, dropped at its end.
DROP TABLE IF EXISTS mart_versions;
DROP TABLE IF EXISTS mart_in_force;
DROP TABLE IF EXISTS mart_in_force_opening;
DROP TABLE IF EXISTS mart_states;
DROP TABLE IF EXISTS mart_finding_programs;
DROP TABLE IF EXISTS mart_inspections;
