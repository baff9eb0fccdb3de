-- The months $first_period .. $last_period of mart.caseload_monthly, cleared before caseload_monthly.sql writes them again.
DELETE FROM mart.caseload_monthly WHERE period BETWEEN $first_period AND $last_period
