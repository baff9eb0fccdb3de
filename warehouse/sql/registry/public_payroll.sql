INSERT INTO registry.public_payroll (id_no, employer, since, extract_date, file_sha256)
SELECT i.id_no, reg_text(s.employer), reg_date(s.since), $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
