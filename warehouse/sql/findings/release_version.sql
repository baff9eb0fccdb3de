-- A rejected version whose open errors have all been cleared by officers is
-- accepted (SPEC §5): it counts as loaded with errors, and is a first approval
-- (effective from benefit_from) when the case had no approved version before it.
UPDATE core.case_versions v
SET acceptance = 'loaded_with_errors',
    is_first_approval = (v.status = 'approved' AND NOT EXISTS (
        SELECT 1 FROM core.case_versions o
        WHERE o.town_code = v.town_code AND o.case_no = v.case_no AND o.seq < v.seq
          AND o.status = 'approved' AND o.acceptance IN ('loaded', 'loaded_with_errors'))),
    effective_month = CASE
        WHEN v.status = 'approved' AND NOT EXISTS (
            SELECT 1 FROM core.case_versions o
            WHERE o.town_code = v.town_code AND o.case_no = v.case_no AND o.seq < v.seq
              AND o.status = 'approved' AND o.acceptance IN ('loaded', 'loaded_with_errors'))
        THEN v.benefit_from
        ELSE v.effective_month END
WHERE v.version_id = $version_id AND v.acceptance = 'rejected'
