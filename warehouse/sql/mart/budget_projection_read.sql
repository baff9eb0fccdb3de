-- The projection from the base month $base_period, for the report.
SELECT * FROM mart.budget_projection WHERE base_period = $base_period ORDER BY ALL
