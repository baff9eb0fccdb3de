-- The months $first_period .. $last_period of mart.monthly_statistics, cleared before monthly_statistics.sql writes them again.
DELETE FROM mart.monthly_statistics WHERE period BETWEEN $first_period AND $last_period
