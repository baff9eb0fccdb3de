-- X01: a household member died on or before the check date. Error when the
-- deceased is covered, warning otherwise. registry.deaths accumulates, so a
-- later extract never clears this; see checks/lifecycle.py for what does.
-- Evidence key: the date of death (or 'death' when the registry has none).
-- xc_reg_<source>: the registry rows about the population's members, with
-- the member's case (checks/sql/population_registry.sql).
SELECT town_code, case_no, id_no,
       coalesce(strftime(min(died_on), '%Y-%m-%d'), 'death') AS died_on,
       CASE WHEN bool_or(covered) THEN 'error' ELSE 'warning' END AS severity,
       coalesce(strftime(min(died_on), '%Y-%m-%d'), '日期不详') AS died_on_text
FROM xc_reg_deaths
WHERE coalesce(died_on, extract_date) <= $as_of
GROUP BY town_code, case_no, id_no
