-- X02: a member owns a vehicle whose status is not 注销/报废 and which is not
-- a disability vehicle. Evidence key: the plate.
SELECT town_code, case_no, id_no,
       coalesce(plate, '（无号牌）') AS plate,
       any_value(vehicle_type) AS vehicle_type,
       any_value(status) AS vehicle_status
FROM xc_reg_vehicles
WHERE coalesce(status, '') NOT IN ('注销', '报废')
  AND NOT coalesce(disability_vehicle, false)
GROUP BY town_code, case_no, id_no, coalesce(plate, '（无号牌）')
