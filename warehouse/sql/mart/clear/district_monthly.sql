-- The months $first_period .. $last_period of mart.district_monthly, cleared before district_monthly.sql writes them again.
DELETE FROM mart.district_monthly WHERE period BETWEEN $first_period AND $last_period
