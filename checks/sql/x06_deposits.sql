-- X06: the household's deposits (sum of the balances of all members) exceed
-- household members x urban dibao standard of the check month x the months
-- of asset_thresholds.deposit_months_of_urban_standard. DECIMAL throughout.
-- About the household. Evidence key: 'deposits'.
WITH held AS (
    SELECT hh, sum(balance) AS deposits
    FROM xc_reg_deposits
    WHERE balance IS NOT NULL
    GROUP BY hh
)
SELECT c.town_code, c.case_no, NULL::VARCHAR AS id_no, 'deposits' AS asset,
       h.deposits,
       c.household_size * $urban_standard * $deposit_months AS threshold
FROM held h
JOIN xc_cases c ON c.hh = h.hh
WHERE h.deposits > c.household_size * $urban_standard * $deposit_months
