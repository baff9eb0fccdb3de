-- A one-off is paid once per person and occasion: its keys (new_one_off).
INSERT INTO pay.one_off_keys SELECT id_no, occasion, batch_no, line_no FROM new_one_off
