-- 0006_findings_lifecycle: resolving findings (SPEC §5) and the cross-check's
-- own bookkeeping (SPEC §6 核对报告).
--
-- A finding is open, cleared or superseded. Cleared automatically
-- (cleared_how = 'auto') when a later submission or extract no longer trips
-- the rule; cleared by an officer (cleared_how = 'officer') with a reason.
-- A finding that blocks payment needs a second, different officer to confirm:
-- until then it stays open with clear_requested_on set. Every clearing and
-- confirmation is also an audit.events row.

ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS source VARCHAR;        -- registry source, or 'cases'
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS evidence VARCHAR;      -- readable evidence, accounts masked
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS last_seen_on DATE;
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS notice_at TIMESTAMPTZ; -- when it last became news (new, reopened, escalated)
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS escalated_on DATE;     -- X02-X04, X06, X07: started blocking payment
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS cleared_how VARCHAR;   -- auto, officer
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS clear_requested_on DATE; -- an officer cleared it (pending confirmation while open)
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS confirmed_by VARCHAR;  -- the second officer (blocking findings)
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS confirmed_on DATE;

-- Every application checked, per Shanghai date: the rows of 结论 in that day's 核对报告.
CREATE TABLE IF NOT EXISTS checks.crosscheck_checks (
    check_date      DATE NOT NULL,
    town_code       VARCHAR NOT NULL,
    case_no         VARCHAR NOT NULL,
    version_id      VARCHAR NOT NULL,        -- the version checked
    registry_digest VARCHAR NOT NULL,        -- SHA-256 over the registry extracts in force at the check
    reason          VARCHAR NOT NULL,        -- new_application, new_version, new_extract, new_finding
    run_id          VARCHAR NOT NULL,
    checked_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (check_date, town_code, case_no, version_id)
);

-- Every hit reported for an application on a date: the rows of 明细 (the union of the day's runs).
CREATE TABLE IF NOT EXISTS checks.crosscheck_hits (
    check_date  DATE NOT NULL,
    town_code   VARCHAR NOT NULL,
    case_no     VARCHAR NOT NULL,
    finding_id  VARCHAR NOT NULL,
    rule_id     VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL,
    id_no       VARCHAR,
    source      VARCHAR,
    evidence    VARCHAR,
    message     VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (check_date, town_code, case_no, finding_id)
);

-- A rejected version that became current because every open error of it was
-- cleared by officers (SPEC §5 "Resolving findings").
CREATE TABLE IF NOT EXISTS checks.released_versions (
    version_id   VARCHAR PRIMARY KEY,
    town_code    VARCHAR NOT NULL,
    case_no      VARCHAR NOT NULL,
    released_on  DATE NOT NULL,
    officer      VARCHAR NOT NULL,           -- the officer whose clearing released it
    became_current BOOLEAN NOT NULL           -- false when a newer version was already current
);
