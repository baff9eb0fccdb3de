-- X09: one account number is used by two or more active cases. About the
-- case. Evidence key: the SHA-256 of the account number (the account itself
-- is masked by checks/crosscheck.py before anything is stored or shown).
WITH accounts AS (
    SELECT town_code, case_no, account_no, town_code || ':' || case_no AS case_key
    FROM xc_cases
    WHERE population = 'active' AND account_no IS NOT NULL
), shared AS (
    SELECT a.account_no, list(a.case_key ORDER BY a.case_key) AS case_keys
    FROM accounts a
    SEMI JOIN (SELECT hash(account_no) AS h FROM accounts GROUP BY hash(account_no) HAVING count(*) >= 2) d
      ON d.h = hash(a.account_no)
    GROUP BY a.account_no
    HAVING count(*) >= 2
)
SELECT a.town_code, a.case_no, NULL::VARCHAR AS id_no,
       sha256(a.account_no) AS account_hash,
       a.account_no AS account_raw,
       array_to_string(list_filter(s.case_keys, lambda k: k <> a.case_key), ',') AS other_cases
FROM accounts a
JOIN shared s ON s.account_no = a.account_no
