-- X07: per-capita income, recomputed with each member's monthly income raised
-- to his latest 养老金 or 失业金 amount where that is higher, reaches the
-- standard of the check month (tekun: the dibao standard of the town's kind).
-- Not for a household in its gradual-exit period (渐退期). Compared exactly:
-- sum of incomes >= household members x standard. Evidence key: 'income'; the
-- amount a hand clearing is tied to: the recomputed per-capita income.
-- A household can only reach it if one member's (raised) income reaches the
-- lower of the two standards (n incomes each below s sum to less than n x s),
-- so only those households are summed.
WITH benefit AS (
    SELECT hh, id_no, monthly_amount,
           row_number() OVER (PARTITION BY hh, id_no ORDER BY period_month DESC, monthly_amount DESC) AS rn
    FROM xc_reg_social_insurance
    WHERE kind IN ('养老金', '失业金')
      AND period_month <= $check_month
      AND monthly_amount IS NOT NULL
), latest AS (
    SELECT hh, id_no, monthly_amount FROM benefit WHERE rn = 1
), member_income AS (
    SELECT m.hh,
           greatest(m.monthly_income, coalesce(l.monthly_amount, 0)) AS income,
           coalesce(l.monthly_amount > m.monthly_income, false) AS raised
    FROM xc_members m
    LEFT JOIN latest l ON l.hh = m.hh AND l.id_no = m.id_no
), candidates AS (
    SELECT DISTINCT hh FROM member_income WHERE income >= least($std_urban, $std_rural)
), household AS (
    SELECT i.hh, sum(i.income) AS income_total, count(*) FILTER (WHERE i.raised) AS raised_members
    FROM member_income i
    SEMI JOIN candidates k ON k.hh = i.hh
    GROUP BY i.hh
)
SELECT c.town_code, c.case_no, NULL::VARCHAR AS id_no, 'income' AS income,
       h.income_total, c.household_size,
       CASE c.income_standard WHEN 'dibao_urban' THEN $std_urban WHEN 'dibao_rural' THEN $std_rural END AS standard,
       h.raised_members,
       CAST(round(CAST(h.income_total AS DECIMAL(18,4)) / c.household_size, 2) AS DECIMAL(18,2)) AS per_capita
FROM household h
JOIN xc_cases c ON c.hh = h.hh
WHERE NOT c.gradual_exit
  AND c.income_standard IS NOT NULL
  AND h.income_total >= c.household_size
      * (CASE c.income_standard WHEN 'dibao_urban' THEN $std_urban WHEN 'dibao_rural' THEN $std_rural END)
