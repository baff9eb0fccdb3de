-- Rows read, rows whose ID is invalid after normalisation, rows whose 15-digit ID was upgraded.
SELECT count(*) AS rows_read,
       count(*) FILTER (WHERE i.id_no IS NULL) AS invalid_ids,
       count(*) FILTER (WHERE i.upgraded) AS upgraded_ids
FROM _reg_stage s LEFT JOIN _reg_ids i ON s.raw_id = i.raw_id
