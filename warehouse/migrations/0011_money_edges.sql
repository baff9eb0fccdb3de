-- 0011_money_edges (SPEC 2026-12-07): the amounts a hand clearing of X06/X07 is
-- tied to, the 应追回 register, and when a case first became active.

-- X06/X07: the amount the finding is about (the household's deposits, the
-- recomputed per-capita income), and the amount when an officer cleared it: the
-- clearing holds while the amount stays within 10% above it (SPEC §5).
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS evidence_amount DECIMAL(18,2);
ALTER TABLE checks.findings ADD COLUMN IF NOT EXISTS cleared_amount DECIMAL(18,2);

-- 应追回 is a register (SPEC §6): each line to recover is listed once, with its
-- reason, and stays until an officer records it recovered or waived.
CREATE TABLE IF NOT EXISTS pay.recovery_register (
    batch_no        VARCHAR NOT NULL,
    line_no         INTEGER NOT NULL,
    town_code       VARCHAR NOT NULL,
    case_no         VARCHAR NOT NULL,
    period_owed     DATE NOT NULL,           -- the month the line paid
    paid_amount     DECIMAL(12,2) NOT NULL,  -- what the line paid
    amount_due      DECIMAL(12,2) NOT NULL,  -- what is to be recovered (the whole line, or the excess)
    reason          VARCHAR NOT NULL,
    raised_period   DATE NOT NULL,           -- the close that first listed it
    raised_on       DATE NOT NULL,           -- that close's as-of date
    status          VARCHAR NOT NULL,        -- open; recovered or waived once recovered + waived reach amount_due
    recovered_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
    waived_amount   DECIMAL(12,2) NOT NULL DEFAULT 0,
    resolved_by     VARCHAR,                 -- the officer of the last entry
    resolved_on     DATE,                    -- the date of the last entry
    resolve_note    VARCHAR,                 -- its reason
    PRIMARY KEY (batch_no, line_no)
);

-- An existing home: the lines already listed in past 应追回 files seed the register.
INSERT INTO pay.recovery_register
SELECT batch_no, line_no, arg_min(town_code, period), arg_min(case_no, period), arg_min(period_owed, period),
       arg_min(amount, period), arg_min(amount, period), arg_min(reason, period), min(period), min(period),
       'open', 0, 0, NULL, NULL, NULL
FROM pay.recoveries
GROUP BY batch_no, line_no
ON CONFLICT DO NOTHING;

-- The first day of the first month a case is active (its earliest approved
-- version in force), as known on $as_of: the escalation of X02-X04/X06/X07 runs
-- from the later of this and the finding's first sighting (SPEC §5).
CREATE OR REPLACE MACRO core.case_active_from(as_of) AS TABLE
    SELECT town_code, case_no, min(effective_month) AS active_from
    FROM core.case_versions
    WHERE status = 'approved' AND acceptance IN ('loaded', 'loaded_with_errors') AND ingested_on <= as_of
      AND effective_month IS NOT NULL
    GROUP BY town_code, case_no;

-- The monthly report counts the register: lines raised (recoveries, recovery_amount:
-- now the lines the month's close first listed), recovered and waived (SPEC §6).
ALTER TABLE mart.payments_monthly ADD COLUMN IF NOT EXISTS recovered_lines INTEGER DEFAULT 0;
ALTER TABLE mart.payments_monthly ADD COLUMN IF NOT EXISTS recovered_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.payments_monthly ADD COLUMN IF NOT EXISTS waived_lines INTEGER DEFAULT 0;
ALTER TABLE mart.payments_monthly ADD COLUMN IF NOT EXISTS waived_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS recovered_lines INTEGER DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS recovered_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS waived_lines INTEGER DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS waived_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS recovered_lines INTEGER DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS recovered_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS waived_lines INTEGER DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS waived_amount DECIMAL(14,2) DEFAULT 0;
