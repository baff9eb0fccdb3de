INSERT INTO core.case_versions BY NAME
SELECT * FROM new_versions
