-- The released version's effective month (computed by transforms.versions.effective_month_expr).
UPDATE core.case_versions SET effective_month = $month WHERE version_id = $version_id
