-- 0004_payments: the monthly close (SPEC §6 Payment batches, §7 pay layer).
-- "Never twice" is enforced by the warehouse: a live line (exported or paid)
-- holds its key in pay.live_keys (one per case and month owed) and its
-- covered persons in pay.live_person_months (one per person and month owed);
-- a void or a bank failure releases them, so only then may a new attempt be made.

CREATE TABLE IF NOT EXISTS pay.closes (
    period       DATE NOT NULL,              -- the month closed (first day)
    run_id       VARCHAR NOT NULL,
    as_of        DATE NOT NULL,
    closed_at    TIMESTAMPTZ NOT NULL,
    go_live      DATE NOT NULL,
    lines        INTEGER NOT NULL,
    total        DECIMAL(14,2) NOT NULL,
    held_cases   INTEGER NOT NULL,
    recoveries   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS pay.batches (
    batch_no     VARCHAR PRIMARY KEY,
    period       DATE NOT NULL,              -- the month closed
    payer        VARCHAR NOT NULL,           -- bureau, or the paying town's code
    program      VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,           -- regular, one_off
    occasion     VARCHAR,                    -- one-off payments: e.g. 2026春节
    supplement_no INTEGER NOT NULL,          -- 1 for the first batch, 2.. for supplementary ones
    count        INTEGER NOT NULL,
    total        DECIMAL(14,2) NOT NULL,
    sha256       VARCHAR NOT NULL,           -- of the CSV bank file
    status       VARCHAR NOT NULL,           -- exported, voided
    created_at   TIMESTAMPTZ NOT NULL,       -- the first export
    run_id       VARCHAR NOT NULL,
    voided_at    TIMESTAMPTZ,
    voided_by    VARCHAR,
    void_reason  VARCHAR
);

CREATE TABLE IF NOT EXISTS pay.payments (
    batch_no      VARCHAR NOT NULL,
    line_no       INTEGER NOT NULL,          -- 序号 in the bank file
    period_owed   DATE NOT NULL,             -- 所属期: the month owed
    payment_type  VARCHAR NOT NULL,          -- monthly, arrears, one_off
    town_code     VARCHAR NOT NULL,
    case_no       VARCHAR NOT NULL,
    version_id    VARCHAR,                   -- the version in force for the month owed
    program       VARCHAR NOT NULL,
    id_no         VARCHAR NOT NULL,          -- the payee (the head, or the person for one-offs)
    payee_name    VARCHAR,
    bank          VARCHAR,
    account_no    VARCHAR,
    account_holder VARCHAR,
    amount        DECIMAL(12,2) NOT NULL,
    covered_count INTEGER,
    occasion      VARCHAR,
    attempt       INTEGER NOT NULL,          -- 1, then 2.. after a void or a bank failure
    status        VARCHAR NOT NULL,          -- exported, paid, failed, voided
    status_changed_at TIMESTAMPTZ,
    bank_reason   VARCHAR,
    PRIMARY KEY (batch_no, line_no)
);

CREATE TABLE IF NOT EXISTS pay.live_keys (
    town_code   VARCHAR NOT NULL,
    case_no     VARCHAR NOT NULL,
    period_owed DATE NOT NULL,
    batch_no    VARCHAR NOT NULL,
    line_no     INTEGER NOT NULL,
    PRIMARY KEY (town_code, case_no, period_owed)
);

CREATE TABLE IF NOT EXISTS pay.live_person_months (
    id_no       VARCHAR NOT NULL,
    period_owed DATE NOT NULL,
    town_code   VARCHAR NOT NULL,
    case_no     VARCHAR NOT NULL,
    batch_no    VARCHAR NOT NULL,
    PRIMARY KEY (id_no, period_owed)
);

CREATE TABLE IF NOT EXISTS pay.one_off_keys (
    id_no      VARCHAR NOT NULL,
    occasion   VARCHAR NOT NULL,
    batch_no   VARCHAR NOT NULL,
    line_no    INTEGER NOT NULL,
    PRIMARY KEY (id_no, occasion)
);

CREATE TABLE IF NOT EXISTS pay.bank_returns (
    file_sha256 VARCHAR PRIMARY KEY,
    rel_path    VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,
    ingested_on DATE NOT NULL,
    rows_read   INTEGER NOT NULL,
    rows_matched INTEGER NOT NULL,
    rows_unmatched INTEGER NOT NULL,
    failed      INTEGER NOT NULL
);

-- what a close held back, and why (rewritten for the period by every close)
CREATE TABLE IF NOT EXISTS pay.holds (
    period      DATE NOT NULL,
    town_code   VARCHAR NOT NULL,
    case_no     VARCHAR NOT NULL,
    period_owed DATE NOT NULL,
    program     VARCHAR,
    amount      DECIMAL(12,2),
    reason      VARCHAR NOT NULL,
    rule_ids    VARCHAR
);

-- lines already paid for months no longer owed (rewritten per period by every close)
CREATE TABLE IF NOT EXISTS pay.recoveries (
    period      DATE NOT NULL,
    batch_no    VARCHAR NOT NULL,
    line_no     INTEGER NOT NULL,
    town_code   VARCHAR NOT NULL,
    case_no     VARCHAR NOT NULL,
    period_owed DATE NOT NULL,
    amount      DECIMAL(12,2) NOT NULL,
    reason      VARCHAR NOT NULL
);
