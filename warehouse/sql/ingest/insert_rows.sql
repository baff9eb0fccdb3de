INSERT INTO raw.submission_rows BY NAME
SELECT * FROM new_rows
