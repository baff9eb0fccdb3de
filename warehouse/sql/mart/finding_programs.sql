-- Each finding's town and program, for the statistics: the program of the
-- finding's version, else of the case's latest version, else 'unknown' (whole
-- files: P01, P02). Findings outside any town folder keep their folder code.
CREATE OR REPLACE TEMP TABLE mart_finding_programs AS
WITH latest AS (
    SELECT town_code, case_no, arg_max(program, seq) AS program
    FROM core.case_versions WHERE program IS NOT NULL
    GROUP BY ALL
)
SELECT f.finding_id, f.rule_id, coalesce(f.town_code, 'unknown') AS town_code,
       coalesce(v.program, l.program, 'unknown') AS program
FROM checks.findings f
LEFT JOIN core.case_versions v ON v.version_id = f.version_id
LEFT JOIN latest l ON l.town_code = f.town_code AND l.case_no = f.case_no
