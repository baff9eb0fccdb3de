-- Ingest (SPEC §2): raw files and rows with lineage, every version of every
-- case and its members, and the findings of every rule.

CREATE TABLE IF NOT EXISTS raw.files (
    file_sha256     VARCHAR PRIMARY KEY,     -- content hash: the file's identity
    folder          VARCHAR NOT NULL,        -- the inbox folder it came from (town code or other)
    rel_path        VARCHAR NOT NULL,        -- home-relative path when first seen
    name            VARCHAR NOT NULL,
    size_bytes      BIGINT NOT NULL,
    modified_at     TIMESTAMPTZ,             -- file modification time (orders versions)
    arrived_on      DATE,                    -- Shanghai date of modified_at
    ingested_on     DATE NOT NULL,           -- the run's as-of date
    received_at     TIMESTAMPTZ NOT NULL,    -- wall clock of the run that first read it
    run_id          VARCHAR NOT NULL,
    seq             BIGINT NOT NULL,         -- place in the version order (never changes)
    file_format     VARCHAR,
    encoding        VARCHAR,
    sheet           VARCHAR,
    header_row      INTEGER,
    is_baseline     BOOLEAN NOT NULL DEFAULT false,
    status          VARCHAR NOT NULL,        -- loaded, unreadable (P01), rejected (P02)
    error           VARCHAR,
    rows_read       INTEGER NOT NULL DEFAULT 0,
    rows_accepted   INTEGER NOT NULL DEFAULT 0,
    rows_rejected   INTEGER NOT NULL DEFAULT 0,
    rows_warned     INTEGER NOT NULL DEFAULT 0,
    cases           INTEGER NOT NULL DEFAULT 0,
    reprocessed_at  TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS raw.file_paths (
    file_sha256 VARCHAR NOT NULL,
    rel_path    VARCHAR NOT NULL,
    first_seen_run VARCHAR NOT NULL,
    PRIMARY KEY (file_sha256, rel_path)
);

-- every row as received (all text), with lineage
CREATE TABLE IF NOT EXISTS raw.submission_rows (
    file_sha256   VARCHAR NOT NULL,
    source_sheet  VARCHAR,
    source_row    INTEGER NOT NULL,
    source_ref    VARCHAR,
    case_no VARCHAR, town_code VARCHAR, village VARCHAR, program VARCHAR, status VARCHAR,
    applied_on VARCHAR, received_on VARCHAR, visited_on VARCHAR, reviewed_on VARCHAR, decided_on VARCHAR,
    publicity_from VARCHAR, publicity_to VARCHAR, decided_level VARCHAR, decided_by VARCHAR,
    monthly_benefit VARCHAR, benefit_from VARCHAR, rechecked_on VARCHAR, bank VARCHAR, account_no VARCHAR,
    account_holder VARCHAR, staff_relative VARCHAR, complaint VARCHAR, extended VARCHAR, gradual_exit VARCHAR,
    remark VARCHAR, name VARCHAR, id_no VARCHAR, relation VARCHAR, covered VARCHAR, disability_type VARCHAR,
    disability_grade VARCHAR, serious_illness VARCHAR, schooling VARCHAR, work_ability VARCHAR,
    self_care VARCHAR, annual_review_on VARCHAR, monthly_income VARCHAR,
    extra_json    VARCHAR,
    row_status    VARCHAR NOT NULL,          -- accepted, rejected
    warned        BOOLEAN NOT NULL DEFAULT false,
    version_id    VARCHAR                    -- the case version the row belongs to
);

-- every version of every case (accepted or not)
CREATE TABLE IF NOT EXISTS core.case_versions (
    version_id       VARCHAR PRIMARY KEY,    -- file_sha256 || ':' || town_code || ':' || case_no
    town_code        VARCHAR NOT NULL,       -- always the submitting town's folder
    case_no          VARCHAR NOT NULL,
    file_sha256      VARCHAR NOT NULL,
    seq              BIGINT NOT NULL,
    ingested_on      DATE NOT NULL,
    run_id           VARCHAR NOT NULL,
    is_baseline      BOOLEAN NOT NULL DEFAULT false,
    content_sha256   VARCHAR NOT NULL,       -- normalised content (no lineage)
    acceptance       VARCHAR NOT NULL,       -- loaded, loaded_with_errors, rejected, unchanged
    is_current       BOOLEAN NOT NULL DEFAULT false,
    is_first_approval BOOLEAN NOT NULL DEFAULT false,
    effective_month  DATE,                   -- first approval: benefit_from; later: month after decided_on
    held             BOOLEAN NOT NULL DEFAULT false,  -- loaded with a payment-blocking error (V08, V12)
    village VARCHAR, program VARCHAR, status VARCHAR,
    applied_on DATE, received_on DATE, visited_on DATE, reviewed_on DATE, decided_on DATE,
    publicity_from DATE, publicity_to DATE, decided_level VARCHAR, decided_by VARCHAR,
    monthly_benefit DECIMAL(12,2), benefit_from DATE, rechecked_on DATE,
    bank VARCHAR, account_no VARCHAR, account_holder VARCHAR,
    staff_relative BOOLEAN, complaint BOOLEAN, extended BOOLEAN, gradual_exit BOOLEAN, remark VARCHAR,
    household_size   INTEGER NOT NULL,
    covered_count    INTEGER NOT NULL,
    rows_in_file     INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS core.member_versions (
    version_id      VARCHAR NOT NULL,
    town_code       VARCHAR NOT NULL,
    case_no         VARCHAR NOT NULL,
    member_no       INTEGER NOT NULL,        -- order within the version
    source_row      INTEGER NOT NULL,
    id_no           VARCHAR,
    name            VARCHAR,
    relation        VARCHAR,
    covered         BOOLEAN,
    birth_date      DATE,
    sex             VARCHAR,
    disability_type VARCHAR,
    disability_grade TINYINT,
    serious_illness BOOLEAN,
    schooling       VARCHAR,
    work_ability    VARCHAR,
    self_care       VARCHAR,
    annual_review_on DATE,
    monthly_income  DECIMAL(12,2)
);

-- findings of every rule (P, V, X, M, S, B)
CREATE TABLE IF NOT EXISTS checks.findings (
    finding_id      VARCHAR PRIMARY KEY,     -- sha256 of (rule_id, town_code, case_no, id_no, evidence_key)
    rule_id         VARCHAR NOT NULL,
    severity        VARCHAR NOT NULL,        -- error, warning, info
    blocks_payment  BOOLEAN NOT NULL DEFAULT false,
    town_code       VARCHAR,
    case_no         VARCHAR,
    id_no           VARCHAR,                 -- null when about the case
    evidence_key    VARCHAR NOT NULL,        -- P/V: file sha256; X: plate, property ...
    message         VARCHAR NOT NULL,        -- plain Chinese for a town clerk
    first_seen_run  VARCHAR NOT NULL,
    last_seen_run   VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,        -- open, cleared, superseded
    version_id      VARCHAR,
    file_sha256     VARCHAR,
    source_row      INTEGER,
    field           VARCHAR,
    first_seen_on   DATE NOT NULL,
    status_changed_on DATE,
    cleared_by      VARCHAR,
    clear_reason    VARCHAR
);

CREATE OR REPLACE VIEW core.cases_current AS
SELECT town_code, case_no, program, status, decided_on, decided_level, monthly_benefit, benefit_from,
       household_size, covered_count, version_id, effective_month, ingested_on, is_baseline, held
FROM core.case_versions
WHERE is_current;

CREATE OR REPLACE VIEW core.members_current AS
SELECT m.town_code, m.case_no, m.id_no, m.name, m.relation, m.covered, m.version_id, m.birth_date,
       m.disability_type, m.disability_grade, m.serious_illness, m.schooling, m.work_ability,
       m.self_care, m.annual_review_on, m.monthly_income
FROM core.member_versions m
JOIN core.case_versions v USING (version_id)
WHERE v.is_current;
