-- The lines of a one-off payment (new_one_off).
INSERT INTO pay.payments BY NAME SELECT * FROM new_one_off
