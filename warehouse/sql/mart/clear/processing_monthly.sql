-- The months $first_period .. $last_period of mart.processing_monthly, cleared before processing_monthly.sql writes them again.
DELETE FROM mart.processing_monthly WHERE period BETWEEN $first_period AND $last_period
