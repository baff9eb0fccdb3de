-- The columns of the tables and views the analyst copy takes (publish/analyst.py picks the masking per column).
SELECT table_schema, table_name, column_name, data_type, ordinal_position
FROM information_schema.columns
WHERE table_catalog = current_database()
  AND (table_schema = 'mart'
       OR (table_schema, table_name) IN (
           ('core', 'cases_current'), ('core', 'members_current'), ('core', 'case_versions'),
           ('checks', 'findings'), ('pay', 'batches'), ('pay', 'payments'), ('pay', 'holds'),
           ('pay', 'recoveries'), ('audit', 'runs'), ('ref', 'towns'), ('ref', 'programs'),
           ('ref', 'standards'), ('ref', 'classified_extras'), ('ref', 'care_subsidies')))
ORDER BY table_schema, table_name, ordinal_position
