-- The months $first_period .. $last_period of mart.payments_monthly, cleared before payments_monthly.sql writes them again.
DELETE FROM mart.payments_monthly WHERE period BETWEEN $first_period AND $last_period
