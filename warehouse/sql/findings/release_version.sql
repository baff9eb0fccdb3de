-- A rejected version whose open errors have all been cleared by officers is
-- accepted (SPEC §5): it counts as loaded with errors, and is a first approval
-- when the case had no approved version before it. Its effective month is set
-- next by checks.lifecycle with transforms.versions.effective_month_expr, the
-- one rule every path that makes a version current uses.
UPDATE core.case_versions v
SET acceptance = 'loaded_with_errors',
    is_first_approval = (v.status = 'approved' AND NOT EXISTS (
        SELECT 1 FROM core.case_versions o
        WHERE o.town_code = v.town_code AND o.case_no = v.case_no AND o.seq < v.seq
          AND o.status = 'approved' AND o.acceptance IN ('loaded', 'loaded_with_errors')))
WHERE v.version_id = $version_id AND v.acceptance = 'rejected'
