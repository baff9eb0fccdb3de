-- The rows of the mart table named $table (one of warehouse.mart.TABLES) for the months
-- $first_period .. $last_period.
SELECT * FROM query_table($table) WHERE period BETWEEN $first_period AND $last_period ORDER BY ALL
