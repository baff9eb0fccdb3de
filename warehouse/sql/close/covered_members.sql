-- Covered members of the versions in force, with any recorded death.
SELECT m.version_id, m.id_no, m.name, d.died_on
FROM core.member_versions m
JOIN (SELECT DISTINCT version_id FROM in_force) f USING (version_id)
LEFT JOIN deaths d USING (id_no)
WHERE m.covered
