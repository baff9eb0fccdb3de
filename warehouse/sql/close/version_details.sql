-- What the close needs of the versions in force: program, decision, amount, the
-- payee (the head of the household), when the case was first approved, and the
-- account. Every line goes to the account of the case's current version (the
-- latest accepted as of $as_of) when that version has one, else to the account
-- of the version in force (SPEC §6: the household's account is a fact of now).
SELECT v.version_id, v.town_code, v.case_no, v.program, v.status, v.decided_on, v.monthly_benefit,
       v.covered_count, v.is_first_approval, v.is_baseline,
       CASE WHEN cur.account_no IS NOT NULL THEN cur.bank ELSE v.bank END AS bank,
       coalesce(cur.account_no, v.account_no) AS account_no,
       CASE WHEN cur.account_no IS NOT NULL THEN cur.account_holder ELSE v.account_holder END AS account_holder,
       h.id_no AS head_id_no, h.name AS head_name, fa.first_approved_on
FROM core.case_versions v
JOIN (SELECT DISTINCT version_id FROM in_force) f USING (version_id)
LEFT JOIN (
    SELECT version_id, arg_min(id_no, member_no) AS id_no, arg_min(name, member_no) AS name
    FROM core.member_versions WHERE relation = 'head' GROUP BY version_id
) h USING (version_id)
LEFT JOIN (
    SELECT town_code, case_no, arg_max(bank, seq) AS bank, arg_max(account_no, seq) AS account_no,
           arg_max(account_holder, seq) AS account_holder
    FROM core.case_versions
    WHERE acceptance IN ('loaded', 'loaded_with_errors') AND ingested_on <= CAST($as_of AS DATE)
      AND account_no IS NOT NULL
      AND (town_code, case_no, seq) IN (
          SELECT (town_code, case_no, max(seq)) FROM core.case_versions
          WHERE acceptance IN ('loaded', 'loaded_with_errors') AND ingested_on <= CAST($as_of AS DATE)
          GROUP BY town_code, case_no)
    GROUP BY town_code, case_no
) cur ON cur.town_code = v.town_code AND cur.case_no = v.case_no
LEFT JOIN (  -- as X08 orders cases: the earliest decision of an approved version
    SELECT town_code, case_no, min(coalesce(decided_on, ingested_on)) AS first_approved_on
    FROM core.case_versions
    WHERE status = 'approved' AND acceptance IN ('loaded', 'loaded_with_errors') AND ingested_on <= CAST($as_of AS DATE)
    GROUP BY town_code, case_no
) fa ON fa.town_code = v.town_code AND fa.case_no = v.case_no
