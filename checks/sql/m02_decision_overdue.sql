-- M02: an application is past its working-day limit (V07's limits: dibao 30,
-- 45 with 延期审批, tekun 25) and still undecided: more working days after
-- received_on up to and including the check date than the limit. xc_workdays
-- (date, cum) is transforms.calendar's cumulative working-day count.
-- Evidence key: the received date.
SELECT c.town_code, c.case_no, NULL::VARCHAR AS id_no,
       strftime(c.received_on, '%Y-%m-%d') AS received_on,
       w1.cum - w0.cum AS working_days,
       CASE WHEN c.family = 'tekun' THEN $limit_tekun
            WHEN c.extended THEN $limit_dibao_extended
            ELSE $limit_dibao END AS day_limit
FROM xc_cases c
JOIN xc_workdays w0 ON w0.date = c.received_on
JOIN xc_workdays w1 ON w1.date = $as_of
WHERE c.population = 'application'
  AND c.received_on IS NOT NULL
  AND w1.cum - w0.cum > CASE WHEN c.family = 'tekun' THEN $limit_tekun
                             WHEN c.extended THEN $limit_dibao_extended
                             ELSE $limit_dibao END
