-- 0016_run_process: a run remembers the process that runs it (pid, host and the
-- process's start on that host), so the next writer can tell a run whose process
-- is gone (killed, power cut) and mark it 'crashed' instead of 'running' forever.
--
-- DuckDB cannot change a CHECK constraint in place, and 0001's CHECK on
-- audit.runs.status allows only running/completed/failed. The table is rebuilt
-- with every column it has now (whichever migrations added them), its primary
-- key and NOT NULL columns; the statuses (running, completed, failed, crashed)
-- are enforced by warehouse/audit.py, the only writer of this table.
CREATE TABLE audit.runs_0016 AS SELECT * FROM audit.runs;
DROP TABLE audit.runs;
ALTER TABLE audit.runs_0016 RENAME TO runs;
ALTER TABLE audit.runs ADD PRIMARY KEY (run_id);
ALTER TABLE audit.runs ALTER COLUMN flow SET NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN started_at SET NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN status SET NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN code_version SET NOT NULL;
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS pid INTEGER;             -- the process that ran it
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS host VARCHAR;            -- on which machine
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS process_start VARCHAR;   -- boot id and start tick of that process (Linux)

-- Runs left 'running' by code older than this migration cannot be checked (no
-- pid): they are marked crashed now. A run that was in fact still going records
-- its real end when it finishes (finish_run overwrites the status).
UPDATE audit.runs
SET status = 'crashed',
    error = 'crashed: still marked running when the warehouse was upgraded (its process was not recorded)'
WHERE status = 'running';
