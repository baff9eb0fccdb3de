-- The projection computed in Python (transforms.budget), registered as mart_budget.
INSERT INTO mart.budget_projection BY NAME SELECT * FROM mart_budget
