-- The caseload history the budget projection starts from: households, covered
-- persons and the monthly amount owed per month, town and program, from
-- mart.caseload_monthly for the months $first_period .. $last_period.
SELECT period, town_code, program, households_closing AS households, persons_closing AS persons,
       money_closing AS money
FROM mart.caseload_monthly
WHERE period BETWEEN $first_period AND $last_period
ORDER BY period, town_code, program
