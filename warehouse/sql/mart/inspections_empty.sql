-- Stand-in for inspections_source.sql while mart.inspections_monthly does not exist: no rows.
CREATE OR REPLACE TEMP TABLE mart_inspections AS
SELECT CAST(NULL AS VARCHAR) AS period, CAST(NULL AS VARCHAR) AS town_code, CAST(NULL AS VARCHAR) AS program,
       CAST(0 AS INTEGER) AS population, CAST(0 AS INTEGER) AS sampled, CAST(0 AS INTEGER) AS inspected,
       CAST(0 AS INTEGER) AS not_true
WHERE false
