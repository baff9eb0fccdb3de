-- The sampled months (newest first), with how many were drawn and how many inspected so far.
SELECT c.period, d.drawn_on, count(*) AS population, count(*) FILTER (WHERE c.selected) AS selected,
       (SELECT count(DISTINCT (r.town_code, r.case_no)) FROM checks.inspection_results r
        WHERE r.period = c.period AND r.row_status = 'accepted') AS inspected
FROM checks.spotcheck_cases c
LEFT JOIN checks.spotcheck_draws d USING (period)
GROUP BY c.period, d.drawn_on
ORDER BY c.period DESC
