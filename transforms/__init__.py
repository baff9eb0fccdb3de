"""Pure Polars functions: frames in, frames out. No Prefect, no DuckDB, no I/O."""
