INSERT INTO raw.files (file_sha256, folder, rel_path, name, size_bytes, modified_at, arrived_on, ingested_on,
                       received_at, run_id, seq, file_format, encoding, sheet, header_row, is_baseline, status,
                       error, rows_read, rows_accepted, rows_rejected, rows_warned, cases)
VALUES ($file_sha256, $folder, $rel_path, $name, $size_bytes, $modified_at, $arrived_on, $ingested_on,
        $received_at, $run_id, $seq, $file_format, $encoding, $sheet, $header_row, $is_baseline, $status,
        $error, $rows_read, $rows_accepted, $rows_rejected, $rows_warned, $cases)
