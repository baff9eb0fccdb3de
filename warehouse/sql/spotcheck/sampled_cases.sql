-- Every case selected in some month's draw (a case is in one month's population at most).
SELECT town_code, case_no, min(period) AS period
FROM checks.spotcheck_cases
WHERE selected
GROUP BY town_code, case_no
