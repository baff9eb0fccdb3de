-- The months $first_period .. $last_period of mart.findings_monthly, cleared before findings_monthly.sql writes them again.
DELETE FROM mart.findings_monthly WHERE period BETWEEN $first_period AND $last_period
