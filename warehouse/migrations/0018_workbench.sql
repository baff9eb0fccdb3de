-- 0018_workbench: the web workbench and authenticated officers (issue 17; docs/workbench.md).
--
-- The accounts themselves, their password hashes, sessions, failed sign-ins and the
-- durable queue of officers' actions live in <home>/warehouse/workbench.sqlite, not
-- here: DuckDB lets nobody open this file while a flow writes it, and people must be
-- able to sign in, browse and act then. What the warehouse keeps is the audit side:
--
-- * audit.accounts: every workbench account without its secrets (username, role, a
--   clerk's town), mirrored by each writer that applies the queue, so the names in
--   cleared_by / confirmed_by / voided_by / resolved_by and in audit.events resolve to
--   an authenticated account and its role;
-- * audit.officer_actions: every officer action of the workbench or the command line
--   once applied (or refused), with when it was asked for and when it took effect
--   (queued = it waited for a flow to release the warehouse). Its effect and its
--   audit.events rows are committed by the action's own run (run_id); this row follows.
CREATE TABLE IF NOT EXISTS audit.accounts (
    username     VARCHAR PRIMARY KEY,
    role         VARCHAR NOT NULL,           -- clerk, officer, auditor
    town_code    VARCHAR,                    -- a clerk's one town
    active       BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    disabled_at  TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS audit.officer_actions (
    action_id    VARCHAR PRIMARY KEY,        -- uuid4 hex, from the queue
    username     VARCHAR NOT NULL,           -- the authenticated account
    kind         VARCHAR NOT NULL,           -- finding_clear, finding_confirm, batch_void, line_reissue, recovery
    target_json  VARCHAR NOT NULL,           -- finding id, batch and line, amount, reason (IDs masked)
    via          VARCHAR NOT NULL,           -- web, cli
    requested_at TIMESTAMPTZ NOT NULL,
    applied_at   TIMESTAMPTZ NOT NULL,
    queued       BOOLEAN NOT NULL,           -- waited for the warehouse
    outcome      VARCHAR NOT NULL,           -- applied, refused
    message      VARCHAR,                    -- what the officer was told
    run_id       VARCHAR                     -- audit.runs of the action
);
