-- Whether the table $schema.$table exists (mart.inspections_monthly is built by the sample flow).
SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = $schema AND table_name = $table
