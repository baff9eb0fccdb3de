INSERT INTO registry.provident_fund (id_no, monthly_contribution, status, extract_date, file_sha256)
SELECT i.id_no, reg_money(s.monthly_contribution), reg_text(s.status), $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
