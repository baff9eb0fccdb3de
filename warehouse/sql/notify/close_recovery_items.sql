-- Digest items of one committed close run: its lines to recover, one row per town and
-- case, as flows/close_month.py tells them; a case whose recovery was already told
-- (a RECOVER item in the queue) is left out.
WITH closed AS (SELECT DISTINCT period FROM pay.closes WHERE run_id = $run_id)
SELECT r.town_code, r.case_no, count(*) AS n, any_value(r.reason) AS reason
FROM pay.recoveries r
JOIN closed c ON r.period = c.period
WHERE NOT EXISTS (SELECT 1 FROM audit.notification_queue q
                  WHERE q.flow = 'close-month' AND q.rule_id = 'RECOVER' AND q.tag = r.town_code
                    AND q.case_no = r.case_no)
GROUP BY r.town_code, r.case_no
ORDER BY r.town_code, r.case_no
