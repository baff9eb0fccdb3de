-- 0002_notifications: one row per digest sent (or attempted) through apprise (SPEC §6, §9).
-- The body itself is never stored, only its SHA-256: the warehouse copy stays minimal
-- even though bodies are already masked. Schema `audit` comes from 0001_schemas.

CREATE TABLE IF NOT EXISTS audit.notifications (
    notification_id VARCHAR PRIMARY KEY,   -- uuid4 hex
    run_id          VARCHAR,               -- the flow run that composed the digest
    tag             VARCHAR,               -- 9-digit town code or 'district'
    title           VARCHAR,               -- masked, as sent
    items           INTEGER,               -- new items listed in the digest
    status          VARCHAR,               -- delivered, no_target, failed
    attempts        INTEGER,               -- tries of the most-tried target (0 when no target)
    error           VARCHAR,               -- why it failed, ID- and account-like numbers masked
    sent_at         TIMESTAMPTZ,
    body_sha256     VARCHAR                -- SHA-256 of the UTF-8 body as sent
);
