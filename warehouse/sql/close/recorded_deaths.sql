-- Every recorded death (deaths accumulate; the earliest date per person); a death
-- whose date could not be read counts as a death on the extract's date (SPEC §3).
SELECT id_no, min(coalesce(died_on, extract_date)) AS died_on FROM registry.deaths GROUP BY id_no
