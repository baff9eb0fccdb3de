-- Deaths accumulate: a death already recorded (same ID and date) is kept as first recorded.
INSERT INTO registry.deaths (id_no, name, died_on, extract_date, file_sha256)
SELECT id_no, name, died_on, $extract_date, $sha
FROM (
    SELECT i.id_no, reg_text(any_value(s.name)) AS name, reg_date(s.died_on) AS died_on
    FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
    GROUP BY i.id_no, reg_date(s.died_on)
) n
WHERE NOT EXISTS (
    SELECT 1 FROM registry.deaths d WHERE d.id_no = n.id_no AND d.died_on IS NOT DISTINCT FROM n.died_on
)
