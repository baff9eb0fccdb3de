-- A month's stored draw, when it has one: when it was drawn, its counts and how many towns it covers.
SELECT drawn_on, population, selected,
       (SELECT count(*) FROM checks.spotcheck_towns t WHERE t.period = d.period) AS towns
FROM checks.spotcheck_draws d
WHERE period = $period
