-- Towns with applications checked on a date (one 核对报告 each).
SELECT DISTINCT town_code FROM checks.crosscheck_checks WHERE check_date = $check_date ORDER BY town_code
