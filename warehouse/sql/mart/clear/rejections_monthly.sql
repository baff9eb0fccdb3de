-- The months $first_period .. $last_period of mart.rejections_monthly, cleared before rejections_monthly.sql writes them again.
DELETE FROM mart.rejections_monthly WHERE period BETWEEN $first_period AND $last_period
