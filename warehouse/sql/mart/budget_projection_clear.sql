-- The projection from the base month $base_period, cleared before it is written again.
DELETE FROM mart.budget_projection WHERE base_period = $base_period
