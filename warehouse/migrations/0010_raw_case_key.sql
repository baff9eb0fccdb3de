-- 0010_raw_case_key: each raw row remembers the case it was grouped under
-- (the normalised case number, or a per-row stand-in when it had none), so a
-- town's return file can be rebuilt from the warehouse alone (after a crash
-- between the load and the file, the next run writes it).
ALTER TABLE raw.submission_rows ADD COLUMN IF NOT EXISTS case_key VARCHAR;
