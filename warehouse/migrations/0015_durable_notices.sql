-- 0015_durable_notices: every digest item waits in audit.notification_queue until it
-- is delivered (SPEC §6 Notifications, §9 "nothing is lost"; issue 14 item 6).
--
-- Until now only the flows of a district cycle queued their items, and the queue
-- forgot an item once a digest had been attempted. From this migration every
-- flow queues its items (a `batch` is the cycle, or the run outside a cycle), and
-- an item stays 'pending' until a digest carrying it is delivered: a failed
-- delivery is tried again by later runs, with a backoff that doubles
-- (settings notify_backoff_minutes, notify_max_attempts), and after the last
-- attempt it is 'given_up' and the district digest says so. Member IDs, case
-- numbers and messages are stored masked. Rows are kept after delivery: they
-- are the record of what each town was told (the body is never stored).
--
-- cycle_id keeps its name: it is the batch (the cycle, or the run that queued
-- the items outside a cycle). seq orders the items of one batch.

ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS run_id VARCHAR;           -- the run whose facts the item reports
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS occurrence INTEGER DEFAULT 1; -- n-th identical item of that run
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS status VARCHAR DEFAULT 'pending';
    -- pending, delivered, given_up, no_target (a tag no target and no outbox serves)
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT 0;  -- digests that carried it
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS last_attempt_at TIMESTAMPTZ;
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMPTZ; -- not tried again on its own before
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS notification_id VARCHAR;    -- audit.notifications row of the last digest
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS given_up_at TIMESTAMPTZ;
ALTER TABLE audit.notification_queue ADD COLUMN IF NOT EXISTS reported_at TIMESTAMPTZ;    -- a given-up item told to the district

-- Items that the old code marked sent were attempted once; whether that attempt
-- reached the town is not known any more, so they count as delivered. Items never
-- sent (a cycle killed before its last step) stay pending and go out with the
-- next digest.
UPDATE audit.notification_queue SET status = 'delivered', attempts = 1 WHERE sent_at IS NOT NULL;

-- Runs killed (or failed) before their items were queued: the next run that notifies
-- rebuilds their items from the facts they committed (notify/sources.py). A run whose
-- process is surely gone (crashed, failed) is swept once and remembered here.
CREATE TABLE IF NOT EXISTS audit.notice_sweeps (
    run_id    VARCHAR PRIMARY KEY,
    swept_at  TIMESTAMPTZ NOT NULL,
    items     INTEGER NOT NULL          -- items the sweep queued (0 when all were queued already)
);
