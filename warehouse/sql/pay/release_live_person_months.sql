-- A failed or voided line no longer counts as paid (1/3): its person-months.
DELETE FROM pay.live_person_months WHERE (town_code, case_no, period_owed, batch_no) IN
    (SELECT (town_code, case_no, period_owed, batch_no) FROM pay.live_keys
     WHERE batch_no = $batch_no AND line_no = $line_no)
