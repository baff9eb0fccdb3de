-- What the latest close held back for a town, per case, and why.
WITH latest AS (SELECT max(period) AS period FROM pay.closes)
SELECT h.case_no, min(h.period_owed) AS first_month, max(h.period_owed) AS last_month, count(*) AS months,
       sum(h.amount) AS amount, string_agg(DISTINCT h.reason, '；' ORDER BY h.reason) AS reasons, any_value(h.period) AS period
FROM pay.holds h JOIN latest USING (period)
WHERE h.town_code = $town
GROUP BY h.case_no
ORDER BY h.case_no
