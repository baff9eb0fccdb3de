-- The registry rows about the population's members (see population_members.sql),
-- so that every rule works on a few thousand rows instead of tens of millions.
-- One join of the members' IDs with the IDs of every registry table at once
-- (the same work as a bare join: one hash table of the members, one pass over
-- the ID columns), then each table's matching rows fetched by rowid (DuckDB
-- reads only the row groups that hold them). xc_reg_<source> has the
-- member's hh, town_code, case_no, population, covered and monthly_income,
-- then every column of registry.<source> (id_no included). A person in two
-- cases has his registry rows once per case. The run holds the warehouse
-- lock, so no row moves in between.
CREATE OR REPLACE TEMP TABLE xc_registry_rows AS
SELECT h.source, h.rid, h.hh, c.town_code, c.case_no, c.population, h.covered, h.monthly_income
FROM (
  SELECT r.source, r.rid, m.hh, m.covered, m.monthly_income
  FROM (
      SELECT 'deaths' AS source, rowid AS rid, id_no FROM registry.deaths
      UNION ALL SELECT 'vehicles', rowid, id_no FROM registry.vehicles
      UNION ALL SELECT 'real_estate', rowid, id_no FROM registry.real_estate
      UNION ALL SELECT 'business', rowid, id_no FROM registry.business
      UNION ALL SELECT 'social_insurance', rowid, id_no FROM registry.social_insurance
      UNION ALL SELECT 'provident_fund', rowid, id_no FROM registry.provident_fund
      UNION ALL SELECT 'public_payroll', rowid, id_no FROM registry.public_payroll
      UNION ALL SELECT 'deposits', rowid, id_no FROM registry.deposits
  ) r
  JOIN xc_members m ON m.id_no = r.id_no
) h
JOIN xc_cases c ON c.hh = h.hh;
CREATE OR REPLACE TEMP TABLE xc_reg_deaths AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.deaths r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'deaths';
CREATE OR REPLACE TEMP TABLE xc_reg_vehicles AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.vehicles r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'vehicles';
CREATE OR REPLACE TEMP TABLE xc_reg_real_estate AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.real_estate r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'real_estate';
CREATE OR REPLACE TEMP TABLE xc_reg_business AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.business r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'business';
CREATE OR REPLACE TEMP TABLE xc_reg_social_insurance AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.social_insurance r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'social_insurance';
CREATE OR REPLACE TEMP TABLE xc_reg_provident_fund AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.provident_fund r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'provident_fund';
CREATE OR REPLACE TEMP TABLE xc_reg_public_payroll AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.public_payroll r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'public_payroll';
CREATE OR REPLACE TEMP TABLE xc_reg_deposits AS
SELECT h.hh, h.town_code, h.case_no, h.population, h.covered, h.monthly_income, r.*
FROM registry.deposits r
JOIN xc_registry_rows h ON h.rid = r.rowid AND h.source = 'deposits';
