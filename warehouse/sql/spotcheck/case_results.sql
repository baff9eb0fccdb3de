-- Every population case of every drawn month with the latest accepted
-- inspection result of a sampled case (latest by inspection date, then by the
-- order the result files were received, then by row), counting only result
-- files ingested on or before $as_of. Feeds mart.inspections_monthly and the
-- next month's ratios.
WITH latest AS (
    SELECT r.period, r.town_code, r.case_no,
           arg_max(r.conclusion, (r.inspected_on, f.received_at, r.source_row)) AS conclusion
    FROM checks.inspection_results r
    JOIN checks.inspection_files f USING (file_sha256)
    WHERE r.row_status = 'accepted' AND f.ingested_on <= $as_of
    GROUP BY r.period, r.town_code, r.case_no
)
SELECT c.period, c.town_code, c.program, c.selected,
       CASE WHEN c.selected THEN l.conclusion END AS conclusion
FROM checks.spotcheck_cases c
LEFT JOIN latest l USING (period, town_code, case_no)
ORDER BY c.period, c.town_code, c.case_no
