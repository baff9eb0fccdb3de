-- Every case held by any close so far (town, case): a close tells a town only the cases
-- it holds for the first time (notify/tell.py, read before the close runs).
SELECT DISTINCT town_code, case_no FROM pay.holds
