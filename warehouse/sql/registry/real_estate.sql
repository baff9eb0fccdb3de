INSERT INTO registry.real_estate (id_no, property_id, use, area_m2, registered_on, extract_date, file_sha256)
SELECT i.id_no, reg_key(s.property_id), reg_text(s.use), reg_money(s.area_m2), reg_date(s.registered_on),
       $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
