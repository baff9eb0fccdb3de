INSERT INTO pay.live_person_months (id_no, period_owed, town_code, case_no, batch_no)
SELECT DISTINCT m.id_no, p.period_owed, p.town_code, p.case_no, p.batch_no
FROM new_payments p
JOIN core.member_versions m ON m.version_id = p.version_id AND m.covered
WHERE p.payment_type IN ('monthly', 'arrears')
