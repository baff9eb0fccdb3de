-- The lines to recover of one closed month, one row per town and case (notify/tell.py).
SELECT town_code, case_no, count(*) AS n, any_value(reason) AS reason
FROM pay.recoveries
WHERE period = $period
GROUP BY ALL
ORDER BY 1, 2
