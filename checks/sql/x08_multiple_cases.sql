-- X08: an ID is a covered member of two or more cases that are active or
-- applications (any towns, any programs): reported on every such case. Blocks
-- payment on every active case but the one first approved (the earliest
-- decision of an approved version of the case); when several share the
-- earliest approval date, all are held. Evidence key: the other cases
-- (town_code:case_no, sorted, joined).
WITH shared_hashes AS (  -- grouping 64-bit hashes is cheaper than IDs; the IDs are compared below
    SELECT hash(id_no) AS h FROM xc_members WHERE covered GROUP BY hash(id_no) HAVING count(*) >= 2
), shared_ids AS (
    SELECT m.id_no
    FROM xc_members m SEMI JOIN shared_hashes s ON s.h = hash(m.id_no)
    WHERE m.covered
    GROUP BY m.id_no
    HAVING count(*) >= 2
), covered AS (
    SELECT m.id_no, c.town_code, c.case_no, c.population, c.town_code || ':' || c.case_no AS case_key
    FROM xc_members m
    JOIN shared_ids s ON s.id_no = m.id_no
    JOIN xc_cases c ON c.hh = m.hh
    WHERE m.covered
), first_approval AS (
    SELECT v.town_code, v.case_no, min(coalesce(v.decided_on, v.ingested_on)) AS first_approved_on
    FROM core.case_versions v
    SEMI JOIN covered c ON c.town_code = v.town_code AND c.case_no = v.case_no
    WHERE v.status = 'approved' AND v.acceptance IN ('loaded', 'loaded_with_errors')
    GROUP BY v.town_code, v.case_no
), dated AS (
    SELECT c.*, f.first_approved_on
    FROM covered c
    LEFT JOIN first_approval f ON f.town_code = c.town_code AND f.case_no = c.case_no
), shared AS (
    SELECT id_no,
           list(case_key ORDER BY case_key) AS case_keys,
           min(first_approved_on) FILTER (WHERE population = 'active') AS earliest
    FROM dated
    GROUP BY id_no
), ranked AS (
    SELECT d.*, s.case_keys, s.earliest,
           count(*) FILTER (WHERE d.population = 'active' AND d.first_approved_on = s.earliest)
               OVER (PARTITION BY d.id_no) AS at_earliest
    FROM dated d
    JOIN shared s ON s.id_no = d.id_no
)
SELECT town_code, case_no, id_no,
       array_to_string(list_filter(case_keys, lambda k: k <> case_key), ',') AS other_cases,
       population = 'active' AND NOT (first_approved_on = earliest AND at_earliest = 1) AS blocks_payment
FROM ranked
