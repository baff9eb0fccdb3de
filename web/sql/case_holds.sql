WITH latest AS (SELECT max(period) AS period FROM pay.closes)
SELECT h.period_owed, h.amount, h.reason FROM pay.holds h JOIN latest USING (period)
WHERE h.town_code = $town AND h.case_no = $case_no
ORDER BY h.period_owed
