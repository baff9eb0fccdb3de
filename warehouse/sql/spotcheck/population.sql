-- The spot-check population of one month (SPEC §6), as of the draw date:
-- cases whose first approved version (not baseline) was ingested in the month,
-- with the state of each case as of the draw (its latest loaded version
-- ingested on or before $as_of), minus cases void at the draw. A case is
-- flagged 近亲属备案 / 投诉举报 when its first approved version or its version
-- at the draw says so; open_error_rules lists the error findings open at the
-- draw (seen by then and not yet cleared or superseded by then).
WITH first_approval AS (
    SELECT town_code, case_no,
           arg_min(version_id, seq) AS first_version_id,
           min(ingested_on) AS first_approved_on
    FROM core.case_versions
    WHERE is_first_approval AND NOT is_baseline AND ingested_on <= $as_of
    GROUP BY town_code, case_no
),
at_draw AS (
    SELECT town_code, case_no, arg_max(version_id, seq) AS version_id
    FROM core.case_versions
    WHERE ingested_on <= $as_of AND (acceptance IN ('loaded', 'loaded_with_errors') OR is_current)
    GROUP BY town_code, case_no
),
open_errors AS (
    SELECT town_code, case_no, string_agg(DISTINCT rule_id, ',' ORDER BY rule_id) AS open_error_rules
    FROM checks.findings
    WHERE severity = 'error' AND case_no IS NOT NULL
      AND first_seen_on <= $as_of
      AND (status = 'open' OR (status_changed_on IS NOT NULL AND status_changed_on > $as_of))
    GROUP BY town_code, case_no
)
SELECT f.town_code,
       f.case_no,
       v.program,
       coalesce(v.staff_relative, false) OR coalesce(fv.staff_relative, false) AS staff_relative,
       coalesce(v.complaint, false) OR coalesce(fv.complaint, false) AS complaint,
       o.open_error_rules,
       v.version_id,
       f.first_version_id,
       f.first_approved_on
FROM first_approval f
JOIN at_draw a USING (town_code, case_no)
JOIN core.case_versions v ON v.version_id = a.version_id
JOIN core.case_versions fv ON fv.version_id = f.first_version_id
LEFT JOIN open_errors o USING (town_code, case_no)
WHERE f.first_approved_on >= $period_start
  AND f.first_approved_on <= $period_end
  AND v.status IS DISTINCT FROM 'void'
ORDER BY f.town_code, f.case_no
