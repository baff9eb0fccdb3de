COPY (FROM query_table($table)) TO $path (FORMAT parquet, COMPRESSION zstd, KV_METADATA {jiuzhu_fingerprint: $fingerprint})
