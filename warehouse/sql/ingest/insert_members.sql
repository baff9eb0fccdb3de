INSERT INTO core.member_versions BY NAME
SELECT * FROM new_members
