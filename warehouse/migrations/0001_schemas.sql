-- 0001_schemas: the warehouse layers (SPEC §7) and the audit tables every flow uses.
-- Applied once, in one transaction, by warehouse/migrate.py. Never edit this file
-- after it has shipped: add a new migration instead (docs/warehouse.md).

CREATE SCHEMA IF NOT EXISTS raw;       -- files and rows as received, with lineage
CREATE SCHEMA IF NOT EXISTS ref;       -- reference tables, replaced on every load
CREATE SCHEMA IF NOT EXISTS registry;  -- registry extracts of other departments
CREATE SCHEMA IF NOT EXISTS core;      -- cases and members, every version
CREATE SCHEMA IF NOT EXISTS checks;    -- findings
CREATE SCHEMA IF NOT EXISTS pay;       -- batches, payments, bank returns
CREATE SCHEMA IF NOT EXISTS mart;      -- statistics
CREATE SCHEMA IF NOT EXISTS audit;     -- runs, events, migrations

-- One row per flow run: what ran, on which inputs, with which code.
CREATE TABLE audit.runs (
    run_id        VARCHAR PRIMARY KEY,        -- uuid4 hex
    flow          VARCHAR NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    as_of         DATE,                       -- the --as-of date standing in for today
    inputs_sha256 VARCHAR,                    -- SHA-256 over the sorted input file hashes
    code_version  VARCHAR NOT NULL,
    params_json   VARCHAR,                    -- never personal data
    summary_json  VARCHAR,                    -- counts, never personal data
    error         VARCHAR                     -- one line, ID- and account-like numbers masked
);

-- General audit entries (clearings, voids and the like may use it or their own tables).
CREATE SEQUENCE audit.event_id_seq START 1;
CREATE TABLE audit.events (
    event_id    BIGINT NOT NULL DEFAULT nextval('audit.event_id_seq'),
    run_id      VARCHAR,                      -- the run that wrote it, when there is one
    occurred_at TIMESTAMPTZ NOT NULL,         -- ("at" is a reserved word in DuckDB 2)
    kind        VARCHAR NOT NULL,
    detail_json VARCHAR
);

-- Which reference file each ref.<name> table was last loaded from.
CREATE TABLE ref.loaded (
    name        VARCHAR PRIMARY KEY,
    source_path VARCHAR NOT NULL,
    rows        BIGINT NOT NULL,
    sha256      VARCHAR NOT NULL,
    loaded_at   TIMESTAMPTZ NOT NULL
);
