INSERT INTO registry.vehicles (id_no, plate, vehicle_type, registered_on, status, disability_vehicle,
                               extract_date, file_sha256)
SELECT i.id_no, reg_key(s.plate), reg_text(s.vehicle_type), reg_date(s.registered_on), reg_text(s.status),
       reg_bool(s.disability_vehicle), $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
