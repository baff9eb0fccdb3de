-- The spot-inspection figures per sampled month, town and program (the program
-- rows of mart.inspections_monthly, built by the sample flow).
CREATE OR REPLACE TEMP TABLE mart_inspections AS
SELECT period, town_code, program, population, sampled, inspected, not_true
FROM mart.inspections_monthly
WHERE program <> 'all'
