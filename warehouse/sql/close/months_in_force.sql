-- For every case and every month from $go_live to $period: the version in
-- force (SPEC §2) — the loaded version latest in the version order whose
-- effective month is on or before that month — using only versions ingested
-- on or before $as_of. Cases whose latest version is 作废 (void) are gone
-- from every count.
WITH loaded AS (
    SELECT version_id, town_code, case_no, seq, effective_month, status
    FROM core.case_versions
    WHERE acceptance IN ('loaded', 'loaded_with_errors') AND ingested_on <= $as_of
),
latest AS (
    SELECT town_code, case_no, arg_max(status, seq) AS status
    FROM loaded GROUP BY ALL
),
months AS (
    SELECT CAST(unnest(generate_series(CAST($go_live AS DATE), CAST($period AS DATE), INTERVAL 1 MONTH)) AS DATE)
        AS month
)
SELECT m.month, l.town_code, l.case_no, arg_max(l.version_id, l.seq) AS version_id
FROM months m
JOIN loaded l ON l.effective_month <= m.month
JOIN latest t ON t.town_code = l.town_code AND t.case_no = l.case_no AND t.status <> 'void'
GROUP BY m.month, l.town_code, l.case_no
