-- The spot-inspection result of a sampled month per town over all its programs
-- (the 'all' rows of mart.inspections_monthly: error rate, 95% interval, next ratio).
SELECT town_code, population, sampled, inspected, not_true, error_rate, ci_low, ci_high, next_ratio
FROM mart.inspections_monthly
WHERE period = $period AND program = 'all'
ORDER BY town_code
