-- Digest items of one committed close run (its row in pay.closes): the cases it held
-- for the first time (held in its period and in no earlier one), one row per town and
-- case, as flows/close_month.py tells them. A case already told as held (a HOLD item
-- in the queue) is left out. Used to tell what a close killed before its digest held.
WITH closed AS (SELECT DISTINCT period FROM pay.closes WHERE run_id = $run_id)
SELECT h.town_code, h.case_no, min(h.period_owed) AS first_owed, any_value(h.reason) AS reason, count(*) AS n
FROM pay.holds h
JOIN closed c ON h.period = c.period
WHERE NOT EXISTS (SELECT 1 FROM pay.holds e
                  WHERE e.town_code = h.town_code AND e.case_no = h.case_no AND e.period < h.period)
  AND NOT EXISTS (SELECT 1 FROM audit.notification_queue q
                  WHERE q.flow = 'close-month' AND q.rule_id = 'HOLD' AND q.tag = h.town_code
                    AND q.case_no = h.case_no)
GROUP BY h.town_code, h.case_no
ORDER BY h.town_code, h.case_no
