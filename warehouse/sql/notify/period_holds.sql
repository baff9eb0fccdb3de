-- The holds of one closed month, one row per town and case: the first month held, a
-- reason, the months held (notify/tell.py tells the cases held for the first time).
SELECT town_code, case_no, min(period_owed) AS first_owed, any_value(reason) AS reason, count(*) AS n
FROM pay.holds
WHERE period = $period
GROUP BY town_code, case_no
ORDER BY town_code, case_no
