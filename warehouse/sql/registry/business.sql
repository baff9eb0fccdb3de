INSERT INTO registry.business (id_no, uscc, role, status, registered_capital, extract_date, file_sha256)
SELECT i.id_no, reg_key(s.uscc), reg_text(s.role), reg_text(s.status), reg_money(s.registered_capital),
       $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
