INSERT INTO registry.deposits (id_no, institution, balance, as_of, extract_date, file_sha256)
SELECT i.id_no, reg_text(s.institution), reg_money(s.balance), reg_date(s.as_of), $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
