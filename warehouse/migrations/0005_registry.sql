-- 0005_registry: registry extracts of other departments (SPEC §3).
-- Every extract read is one row of registry.extracts (source, date, SHA-256,
-- counts, and whether it was loaded or refused). The data tables hold the
-- current extract of each source, except registry.deaths, which accumulates
-- every death ever recorded. IDs are normalised at load time (15 -> 18, upper
-- case X), so rules join on plain VARCHAR equality; rows with IDs still
-- invalid are dropped and counted in registry.extracts.invalid_ids.

CREATE TABLE IF NOT EXISTS registry.extracts (
    file_sha256   VARCHAR NOT NULL,         -- content hash; with source and date, the extract's identity
    source        VARCHAR NOT NULL,         -- deaths, vehicles, real_estate, business, social_insurance,
                                            -- provident_fund, public_payroll, deposits
    extract_date  DATE NOT NULL,            -- from the file name registries/<source>/<YYYY-MM-DD>.csv|parquet
    rel_path      VARCHAR NOT NULL,         -- home-relative path when first read (the file stays for audit)
    size_bytes    BIGINT NOT NULL,
    file_format   VARCHAR NOT NULL,         -- csv, parquet
    status        VARCHAR NOT NULL,         -- loaded, refused
    reason        VARCHAR,                  -- why it was refused (one line, Chinese and English)
    rows_read     BIGINT NOT NULL DEFAULT 0,
    rows_loaded   BIGINT NOT NULL DEFAULT 0,
    invalid_ids   BIGINT NOT NULL DEFAULT 0, -- rows dropped: ID invalid after the 15 -> 18 upgrade
    upgraded_ids  BIGINT NOT NULL DEFAULT 0, -- rows whose 15-digit ID was upgraded
    is_current    BOOLEAN NOT NULL DEFAULT false, -- its rows are the source's current data
    loaded_at     TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR,
    PRIMARY KEY (source, extract_date, file_sha256)
);

CREATE TABLE IF NOT EXISTS registry.deaths (
    id_no         VARCHAR NOT NULL,
    name          VARCHAR,
    died_on       DATE,
    extract_date  DATE NOT NULL,            -- the first extract that recorded this death
    file_sha256   VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.vehicles (
    id_no              VARCHAR NOT NULL,
    plate              VARCHAR,
    vehicle_type       VARCHAR,
    registered_on      DATE,
    status             VARCHAR,
    disability_vehicle BOOLEAN,
    extract_date       DATE NOT NULL,
    file_sha256        VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.real_estate (
    id_no         VARCHAR NOT NULL,
    property_id   VARCHAR,
    use           VARCHAR,                  -- 住宅, 商业, 其他
    area_m2       DECIMAL(12,2),
    registered_on DATE,
    extract_date  DATE NOT NULL,
    file_sha256   VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.business (
    id_no              VARCHAR NOT NULL,
    uscc               VARCHAR,
    role               VARCHAR,             -- 法定代表人, 股东, 其他
    status             VARCHAR,             -- 存续, 注销
    registered_capital DECIMAL(18,2),
    extract_date       DATE NOT NULL,
    file_sha256        VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.social_insurance (
    id_no          VARCHAR NOT NULL,
    kind           VARCHAR,                 -- 养老金, 失业金, 在职参保
    monthly_amount DECIMAL(12,2),
    period         VARCHAR,                 -- YYYY-MM as received
    period_month   DATE,                    -- first day of that month
    extract_date   DATE NOT NULL,
    file_sha256    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.provident_fund (
    id_no                VARCHAR NOT NULL,
    monthly_contribution DECIMAL(12,2),
    status               VARCHAR,           -- 缴存, 封存
    extract_date         DATE NOT NULL,
    file_sha256          VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.public_payroll (
    id_no         VARCHAR NOT NULL,
    employer      VARCHAR,
    since         DATE,
    extract_date  DATE NOT NULL,
    file_sha256   VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS registry.deposits (
    id_no         VARCHAR NOT NULL,
    institution   VARCHAR,
    balance       DECIMAL(14,2),
    as_of         DATE,
    extract_date  DATE NOT NULL,
    file_sha256   VARCHAR NOT NULL
);
