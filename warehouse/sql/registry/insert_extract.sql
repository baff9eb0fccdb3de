INSERT INTO registry.extracts (file_sha256, source, extract_date, rel_path, size_bytes, file_format, status, reason,
                               rows_read, rows_loaded, invalid_ids, upgraded_ids, is_current, loaded_at, run_id)
VALUES ($sha, $source, $extract_date, $rel_path, $size_bytes, $file_format, $status, $reason,
        $rows_read, $rows_loaded, $invalid_ids, $upgraded_ids, $is_current, $loaded_at, $run_id)
