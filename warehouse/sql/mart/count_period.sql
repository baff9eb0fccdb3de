-- How many rows the mart table named $table holds for the months $first_period .. $last_period.
SELECT count(*) FROM query_table($table) WHERE period BETWEEN $first_period AND $last_period
