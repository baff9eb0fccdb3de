-- 0019_report_figures (issue 15 items 4-5, issue 16): the monthly report's holds and
-- cross-check hits, apart.
--
-- Holds: a close holds the month it pays and, while the hold lasts, every earlier
-- month still owed. held_amount is now the month's own amount held; the earlier
-- months still held (outstanding) are counted apart, so a case held six months at
-- 670 shows 670 for June and 5 months / 3,350 outstanding (no longer 4,020).
ALTER TABLE mart.payments_monthly ADD COLUMN IF NOT EXISTS held_outstanding_months INTEGER DEFAULT 0;
ALTER TABLE mart.payments_monthly ADD COLUMN IF NOT EXISTS held_outstanding_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS held_outstanding_months INTEGER DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS held_outstanding_amount DECIMAL(14,2) DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS held_outstanding_months INTEGER DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS held_outstanding_amount DECIMAL(14,2) DEFAULT 0;

-- Cross-check hits (X findings raised in the month) split by whom they are about: an
-- application checked that month (the hit rate's subject) or a case already active
-- (registry extracts re-checking the caseload).
ALTER TABLE mart.processing_monthly ADD COLUMN IF NOT EXISTS crosscheck_hits_applications INTEGER DEFAULT 0;
ALTER TABLE mart.processing_monthly ADD COLUMN IF NOT EXISTS crosscheck_hits_active INTEGER DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS crosscheck_hits_applications INTEGER DEFAULT 0;
ALTER TABLE mart.monthly_statistics ADD COLUMN IF NOT EXISTS crosscheck_hits_active INTEGER DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS crosscheck_hits_applications INTEGER DEFAULT 0;
ALTER TABLE mart.district_monthly ADD COLUMN IF NOT EXISTS crosscheck_hits_active INTEGER DEFAULT 0;
