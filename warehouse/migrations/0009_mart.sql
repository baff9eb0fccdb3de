-- 0009_mart: the monthly statistics (SPEC §6 "Monthly statistics", §7 mart layer).
-- Rebuilt month by month by warehouse/mart.py (build_marts) from the SQL models
-- in warehouse/sql/mart/, one model a file; docs/statistics.md documents every
-- column. Periods are 'YYYY-MM' text (as in mart.inspections_monthly); money is
-- DECIMAL yuan; counts are integers. Month m is always counted from the
-- versions known on its last day.

-- Movement per month, town and program: opening + new - exits = closing for
-- households; with a changes term for persons and for the monthly amount owed.
CREATE TABLE IF NOT EXISTS mart.caseload_monthly (
    period                 VARCHAR NOT NULL,
    town_code              VARCHAR NOT NULL,
    program                VARCHAR NOT NULL,
    households_opening     INTEGER NOT NULL,
    households_new         INTEGER NOT NULL,
    households_exits       INTEGER NOT NULL,
    households_closing     INTEGER NOT NULL,
    new_first_approval     INTEGER NOT NULL,   -- new: the version in force is the case's first approval
    new_resumed            INTEGER NOT NULL,   -- new: approved again (after 停发, a re-decision)
    new_program_change     INTEGER NOT NULL,   -- new: the case was active under another program last month
    new_late_filed         INTEGER NOT NULL,   -- of the new: the version took effect before this month (filed late)
    exits_suspended        INTEGER NOT NULL,   -- 停发
    exits_terminated       INTEGER NOT NULL,   -- 终止
    exits_void             INTEGER NOT NULL,   -- 作废 (entered in error: gone from every count)
    exits_program_change   INTEGER NOT NULL,   -- now active under another program
    exits_other            INTEGER NOT NULL,   -- another status in force (e.g. 不予批准 on re-check)
    persons_opening        INTEGER NOT NULL,
    persons_new            INTEGER NOT NULL,
    persons_exits          INTEGER NOT NULL,
    persons_changes        INTEGER NOT NULL,   -- continuing households: covered members now - last month
    persons_closing        INTEGER NOT NULL,
    money_opening          DECIMAL(14,2) NOT NULL,  -- monthly amount owed (SPEC §5), yuan
    money_new              DECIMAL(14,2) NOT NULL,
    money_exits            DECIMAL(14,2) NOT NULL,
    money_changes          DECIMAL(14,2) NOT NULL,  -- continuing households: re-decisions and upratings
    money_closing          DECIMAL(14,2) NOT NULL,
    PRIMARY KEY (period, town_code, program)
);

-- Money paid: non-voided lines by batch month (the month closed), arrears apart.
CREATE TABLE IF NOT EXISTS mart.payments_monthly (
    period            VARCHAR NOT NULL,
    town_code         VARCHAR NOT NULL,
    program           VARCHAR NOT NULL,
    lines             INTEGER NOT NULL,
    households_paid   INTEGER NOT NULL,        -- distinct cases with a monthly or arrears line
    money_total       DECIMAL(14,2) NOT NULL,  -- all non-voided lines (= the exported batches' totals)
    money_monthly     DECIMAL(14,2) NOT NULL,
    money_arrears     DECIMAL(14,2) NOT NULL,  -- 补发
    money_one_off     DECIMAL(14,2) NOT NULL,
    lines_arrears     INTEGER NOT NULL,
    lines_failed      INTEGER NOT NULL,        -- of the lines, returned failed by the bank
    money_failed      DECIMAL(14,2) NOT NULL,
    held_cases        INTEGER NOT NULL,        -- pay.holds of the month's close
    held_months       INTEGER NOT NULL,
    held_amount       DECIMAL(14,2) NOT NULL,
    recoveries        INTEGER NOT NULL,        -- pay.recoveries of the month's close
    recovery_amount   DECIMAL(14,2) NOT NULL,
    PRIMARY KEY (period, town_code, program)
);

-- Processing: filings, decisions and their working days, rejections, cross-checks.
CREATE TABLE IF NOT EXISTS mart.processing_monthly (
    period                VARCHAR NOT NULL,
    town_code             VARCHAR NOT NULL,
    program               VARCHAR NOT NULL,
    cases_first_filed     INTEGER NOT NULL,   -- cases whose first version reached the bureau this month
    applications_pending  INTEGER NOT NULL,   -- cases still undecided (received/investigating/pending) at month end
    decisions             INTEGER NOT NULL,   -- first decisions (批准 or 不予批准) filed this month
    first_approvals       INTEGER NOT NULL,
    denials               INTEGER NOT NULL,   -- cases with a 不予批准 version filed this month
    decision_days_total   BIGINT NOT NULL,    -- working days received -> decided, summed over the decisions
    decision_days_avg     DOUBLE,
    decision_days_median  DOUBLE,
    decision_days_max     INTEGER,
    decisions_over_limit  INTEGER NOT NULL,   -- decisions whose working days exceed the time limit
    breaches_v07          INTEGER NOT NULL,   -- V07 findings first seen this month
    overdue_m02           INTEGER NOT NULL,   -- M02 findings first seen this month
    overdue_m02_open      INTEGER NOT NULL,   -- M02 findings open at month end
    versions_submitted    INTEGER NOT NULL,   -- case versions received (unchanged re-sends excluded)
    versions_rejected     INTEGER NOT NULL,
    rows_rejected         INTEGER NOT NULL,
    rejection_rate        DOUBLE,             -- versions_rejected / versions_submitted
    checked               INTEGER NOT NULL,   -- applications cross-checked this month (distinct cases)
    checked_with_hits     INTEGER NOT NULL,
    hit_rate              DOUBLE,             -- checked_with_hits / checked
    PRIMARY KEY (period, town_code, program)
);

-- Rejected case versions and unreadable files by rule (P/V errors).
CREATE TABLE IF NOT EXISTS mart.rejections_monthly (
    period             VARCHAR NOT NULL,
    town_code          VARCHAR NOT NULL,
    program            VARCHAR NOT NULL,      -- 'unknown' for whole files (P01, P02)
    rule_id            VARCHAR NOT NULL,
    versions_rejected  INTEGER NOT NULL,      -- rejected versions with an open-or-closed error of this rule
    rows_rejected      INTEGER NOT NULL,      -- their rows
    files_rejected     INTEGER NOT NULL,      -- whole files refused (P01, P02)
    PRIMARY KEY (period, town_code, program, rule_id)
);

-- Findings of every rule: raised, cleared (automatically, by an officer, confirmed), open at month end.
CREATE TABLE IF NOT EXISTS mart.findings_monthly (
    period           VARCHAR NOT NULL,
    town_code        VARCHAR NOT NULL,
    program          VARCHAR NOT NULL,        -- 'unknown' when the finding has no case
    rule_id          VARCHAR NOT NULL,
    raised           INTEGER NOT NULL,        -- first seen this month
    cleared_auto     INTEGER NOT NULL,        -- a later submission or extract no longer trips the rule
    cleared_officer  INTEGER NOT NULL,        -- cleared at once by an officer
    clear_requested  INTEGER NOT NULL,        -- a blocking finding cleared by a first officer
    confirmed        INTEGER NOT NULL,        -- ... and confirmed by a second
    superseded       INTEGER NOT NULL,        -- closed because a newer version became current
    open_at_end      INTEGER NOT NULL,
    PRIMARY KEY (period, town_code, program, rule_id)
);

-- Everything above plus inspections, one wide row per month, town and program (the report's rows).
CREATE TABLE IF NOT EXISTS mart.monthly_statistics (
    period                 VARCHAR NOT NULL,
    town_code              VARCHAR NOT NULL,
    town_name              VARCHAR,
    program                VARCHAR NOT NULL,
    program_label          VARCHAR,
    households_opening     INTEGER NOT NULL,
    households_new         INTEGER NOT NULL,
    households_exits       INTEGER NOT NULL,
    households_closing     INTEGER NOT NULL,
    persons_opening        INTEGER NOT NULL,
    persons_new            INTEGER NOT NULL,
    persons_exits          INTEGER NOT NULL,
    persons_changes        INTEGER NOT NULL,
    persons_closing        INTEGER NOT NULL,
    money_owed_opening     DECIMAL(14,2) NOT NULL,
    money_owed_new         DECIMAL(14,2) NOT NULL,
    money_owed_exits       DECIMAL(14,2) NOT NULL,
    money_owed_changes     DECIMAL(14,2) NOT NULL,
    money_owed_closing     DECIMAL(14,2) NOT NULL,
    households_paid        INTEGER NOT NULL,
    money_paid             DECIMAL(14,2) NOT NULL,
    money_paid_monthly     DECIMAL(14,2) NOT NULL,
    money_paid_arrears     DECIMAL(14,2) NOT NULL,
    money_paid_one_off     DECIMAL(14,2) NOT NULL,
    held_cases             INTEGER NOT NULL,
    held_amount            DECIMAL(14,2) NOT NULL,
    recoveries             INTEGER NOT NULL,
    recovery_amount        DECIMAL(14,2) NOT NULL,
    cases_first_filed      INTEGER NOT NULL,
    applications_pending   INTEGER NOT NULL,
    decisions              INTEGER NOT NULL,
    first_approvals        INTEGER NOT NULL,
    denials                INTEGER NOT NULL,
    decision_days_total    BIGINT NOT NULL,
    decision_days_avg      DOUBLE,
    decisions_over_limit   INTEGER NOT NULL,
    breaches_v07           INTEGER NOT NULL,
    overdue_m02            INTEGER NOT NULL,
    versions_submitted     INTEGER NOT NULL,
    versions_rejected      INTEGER NOT NULL,
    rejection_rate         DOUBLE,
    checked                INTEGER NOT NULL,
    checked_with_hits      INTEGER NOT NULL,
    hit_rate               DOUBLE,
    crosscheck_hits        INTEGER NOT NULL,   -- X findings raised this month
    findings_raised        INTEGER NOT NULL,   -- findings of every rule raised this month
    clearings              INTEGER NOT NULL,   -- cleared automatically + by officers + confirmed this month
    clearings_officer      INTEGER NOT NULL,
    inspection_population  INTEGER NOT NULL,   -- from mart.inspections_monthly (zeros until it exists)
    inspection_sampled     INTEGER NOT NULL,
    inspection_inspected   INTEGER NOT NULL,
    inspection_not_true    INTEGER NOT NULL,
    inspection_error_rate  DOUBLE,
    PRIMARY KEY (period, town_code, program)
);

-- District totals: the sum of the towns, per month and program.
CREATE TABLE IF NOT EXISTS mart.district_monthly (
    period                 VARCHAR NOT NULL,
    program                VARCHAR NOT NULL,
    program_label          VARCHAR,
    towns                  INTEGER NOT NULL,
    households_opening     INTEGER NOT NULL,
    households_new         INTEGER NOT NULL,
    households_exits       INTEGER NOT NULL,
    households_closing     INTEGER NOT NULL,
    persons_opening        INTEGER NOT NULL,
    persons_new            INTEGER NOT NULL,
    persons_exits          INTEGER NOT NULL,
    persons_changes        INTEGER NOT NULL,
    persons_closing        INTEGER NOT NULL,
    money_owed_opening     DECIMAL(14,2) NOT NULL,
    money_owed_new         DECIMAL(14,2) NOT NULL,
    money_owed_exits       DECIMAL(14,2) NOT NULL,
    money_owed_changes     DECIMAL(14,2) NOT NULL,
    money_owed_closing     DECIMAL(14,2) NOT NULL,
    households_paid        INTEGER NOT NULL,
    money_paid             DECIMAL(14,2) NOT NULL,
    money_paid_monthly     DECIMAL(14,2) NOT NULL,
    money_paid_arrears     DECIMAL(14,2) NOT NULL,
    money_paid_one_off     DECIMAL(14,2) NOT NULL,
    held_cases             INTEGER NOT NULL,
    held_amount            DECIMAL(14,2) NOT NULL,
    recoveries             INTEGER NOT NULL,
    recovery_amount        DECIMAL(14,2) NOT NULL,
    cases_first_filed      INTEGER NOT NULL,
    applications_pending   INTEGER NOT NULL,
    decisions              INTEGER NOT NULL,
    first_approvals        INTEGER NOT NULL,
    denials                INTEGER NOT NULL,
    decision_days_total    BIGINT NOT NULL,
    decision_days_avg      DOUBLE,
    decisions_over_limit   INTEGER NOT NULL,
    breaches_v07           INTEGER NOT NULL,
    overdue_m02            INTEGER NOT NULL,
    versions_submitted     INTEGER NOT NULL,
    versions_rejected      INTEGER NOT NULL,
    rejection_rate         DOUBLE,
    checked                INTEGER NOT NULL,
    checked_with_hits      INTEGER NOT NULL,
    hit_rate               DOUBLE,
    crosscheck_hits        INTEGER NOT NULL,
    findings_raised        INTEGER NOT NULL,
    clearings              INTEGER NOT NULL,
    clearings_officer      INTEGER NOT NULL,
    inspection_population  INTEGER NOT NULL,
    inspection_sampled     INTEGER NOT NULL,
    inspection_inspected   INTEGER NOT NULL,
    inspection_not_true    INTEGER NOT NULL,
    inspection_error_rate  DOUBLE,
    PRIMARY KEY (period, program)
);

-- The 12-month budget projection made from a base month (transforms/budget.py).
CREATE TABLE IF NOT EXISTS mart.budget_projection (
    base_period        VARCHAR NOT NULL,      -- the month whose caseload the projection starts from
    scenario           VARCHAR NOT NULL,      -- base (standards in force and dated), what_if (plus a rise)
    period             VARCHAR NOT NULL,      -- the projected month
    program            VARCHAR NOT NULL,
    payer              VARCHAR NOT NULL,      -- bureau, or the paying town's code
    households         INTEGER NOT NULL,
    persons            INTEGER NOT NULL,
    money              DECIMAL(14,2) NOT NULL,  -- projected monthly amount owed, yuan
    standard           DECIMAL(12,2),           -- the program's standard assumed for the month, yuan per person
    standard_rise      DECIMAL(12,2) NOT NULL,  -- the what-if rise included in `standard` (0 in base)
    what_if_from       VARCHAR,                 -- the month the what-if rise starts
    trend_months       INTEGER NOT NULL,        -- months of history the trend was fitted on
    PRIMARY KEY (base_period, scenario, period, program, payer)
);
