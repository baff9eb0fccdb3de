-- 0007_spotcheck: spot inspection of newly approved cases (SPEC §6 Spot-inspection lists).
-- A month's draw is final: its seed, its towns (population, ratio, k) and its
-- cases (population, mandatory reasons, hash, selection) are stored at the
-- month's first sampling, and every later run re-renders the same files from
-- these rows. Inspection results come back as files (checks.inspection_files,
-- each once by content hash) and rows (checks.inspection_results); a 不属实
-- result raises S01 in checks.findings. mart.inspections_monthly holds error
-- rates with 95% Wilson intervals for the monthly report. See docs/spotcheck.md.

CREATE TABLE IF NOT EXISTS checks.spotcheck_draws (
    period          VARCHAR PRIMARY KEY,     -- the sampled month, YYYY-MM
    seed_hex        VARCHAR NOT NULL,        -- 64 hex digits: the 32-byte seed (published in the manifest)
    seed_source     VARCHAR NOT NULL,        -- os (secrets.token_bytes) or test_setting (settings.spot_check_test_seed)
    method          VARCHAR NOT NULL,        -- jiuzhu-spotcheck-v1 (docs/spotcheck-method.md)
    drawn_on        DATE NOT NULL,           -- the as-of date of the first sampling run
    drawn_at        TIMESTAMPTZ NOT NULL,    -- wall clock of the draw
    run_id          VARCHAR NOT NULL,
    spot_check_json VARCHAR NOT NULL,        -- the spot_check reference row used (ratio, minimum, threshold, step, max)
    population      INTEGER NOT NULL,
    selected        INTEGER NOT NULL,
    manifest_sha256 VARCHAR,                 -- SHA-256 of manifest.json as first written
    manifest_json   VARCHAR                  -- its text: later runs write exactly this again
);

CREATE TABLE IF NOT EXISTS checks.spotcheck_towns (
    period           VARCHAR NOT NULL,
    town_code        VARCHAR NOT NULL,
    population       INTEGER NOT NULL,       -- N
    base_ratio       VARCHAR NOT NULL,       -- decimal text, from the spot_check reference row
    ratio            VARCHAR NOT NULL,       -- decimal text actually used (base, or raised by the step)
    raised           BOOLEAN NOT NULL,
    previous_period  VARCHAR,                -- the month whose error rate decided the raise
    previous_ci_low  DOUBLE,                 -- its 95% Wilson lower bound over all programs (null: none inspected)
    minimum_per_town INTEGER NOT NULL,
    k                INTEGER NOT NULL,       -- min(N, max(ceil(ratio x N), minimum))
    mandatory        INTEGER NOT NULL,
    selected         INTEGER NOT NULL,       -- max(k, mandatory)
    PRIMARY KEY (period, town_code)
);

CREATE TABLE IF NOT EXISTS checks.spotcheck_cases (
    period            VARCHAR NOT NULL,
    town_code         VARCHAR NOT NULL,
    case_no           VARCHAR NOT NULL,
    program           VARCHAR,               -- of the version in force at the draw
    version_id        VARCHAR NOT NULL,      -- the case's version as of the draw (renders the list)
    first_version_id  VARCHAR NOT NULL,      -- its first approved version
    first_approved_on DATE NOT NULL,         -- ingested_on of that version (in the period)
    staff_relative    BOOLEAN NOT NULL,
    complaint         BOOLEAN NOT NULL,
    open_error_rules  VARCHAR,               -- open error findings at the draw, rule ids joined with ','
    mandatory         BOOLEAN NOT NULL,
    hash_hex          VARCHAR NOT NULL,      -- SHA-256(seed || town_code || case_no), hex
    selected          BOOLEAN NOT NULL,
    selection_order   INTEGER,               -- 1.. within the town's list (mandatory first), null when not selected
    PRIMARY KEY (period, town_code, case_no)
);

CREATE TABLE IF NOT EXISTS checks.inspection_files (
    file_sha256   VARCHAR PRIMARY KEY,       -- content hash: each file is read once
    rel_path      VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    size_bytes    BIGINT NOT NULL,
    modified_at   TIMESTAMPTZ,
    ingested_on   DATE NOT NULL,             -- the run's as-of date
    received_at   TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR NOT NULL,
    file_format   VARCHAR,
    encoding      VARCHAR,
    sheet         VARCHAR,
    header_row    INTEGER,
    status        VARCHAR NOT NULL,          -- loaded, unreadable (P01), rejected (P02)
    error         VARCHAR,
    rows_read     INTEGER NOT NULL DEFAULT 0,
    rows_accepted INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    not_true      INTEGER NOT NULL DEFAULT 0,
    findings      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS checks.inspection_results (
    file_sha256     VARCHAR NOT NULL,
    source_row      INTEGER NOT NULL,        -- the row number the inspector sees in Excel / the CSV record
    source_ref      VARCHAR,
    raw_case_no     VARCHAR, raw_town_code VARCHAR, raw_inspected_on VARCHAR,
    raw_conclusion  VARCHAR, raw_problem_type VARCHAR, raw_action VARCHAR,
    town_code       VARCHAR,
    case_no         VARCHAR,
    period          VARCHAR,                 -- the sample the case was drawn in
    inspected_on    DATE,
    conclusion      VARCHAR,                 -- true (属实), not_true (不属实)
    problem_type    VARCHAR,
    action          VARCHAR,
    stops_payment   BOOLEAN NOT NULL DEFAULT false,   -- 处理意见 is 停保
    row_status      VARCHAR NOT NULL,        -- accepted, rejected
    problem         VARCHAR,                 -- why a row was rejected (Chinese)
    finding_id      VARCHAR,                 -- the S01 it raised
    PRIMARY KEY (file_sha256, source_row)
);

CREATE TABLE IF NOT EXISTS mart.inspections_monthly (
    period      VARCHAR NOT NULL,            -- the sampled month, YYYY-MM
    town_code   VARCHAR NOT NULL,
    program     VARCHAR NOT NULL,            -- dibao_urban ... or 'all' (every program of the town)
    population  INTEGER NOT NULL,
    sampled     INTEGER NOT NULL,
    inspected   INTEGER NOT NULL,            -- sampled cases with an accepted result
    not_true    INTEGER NOT NULL,            -- ... whose latest result is 不属实
    error_rate  DOUBLE,                      -- not_true / inspected (null when none inspected)
    ci_low      DOUBLE,                      -- 95% Wilson score interval
    ci_high     DOUBLE,
    next_ratio  DOUBLE,                      -- the town's ratio for the following month from this result
    PRIMARY KEY (period, town_code, program)
);
