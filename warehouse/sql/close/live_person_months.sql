SELECT id_no, period_owed, town_code, case_no FROM pay.live_person_months
