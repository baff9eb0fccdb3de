-- The rebuilt rows of mart.inspections_monthly (registered as new_mart).
INSERT INTO mart.inspections_monthly BY NAME SELECT * FROM new_mart
