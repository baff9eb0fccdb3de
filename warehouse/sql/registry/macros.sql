-- Typing helpers for registry extracts read as text (one connection's temp macros).
CREATE OR REPLACE TEMP MACRO reg_text(x) AS nullif(trim(x), '');
CREATE OR REPLACE TEMP MACRO reg_key(x) AS nullif(upper(regexp_replace(x, '\s', '', 'g')), '');
CREATE OR REPLACE TEMP MACRO reg_date(x) AS CAST(try_strptime(trim(x), [
    '%Y-%m-%d', '%Y/%m/%d', '%Y.%m.%d', '%Y%m%d', '%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S', '%Y年%m月%d日'
]) AS DATE);
CREATE OR REPLACE TEMP MACRO reg_money(x) AS TRY_CAST(replace(replace(trim(x), ',', ''), '，', '') AS DECIMAL(18, 2));
CREATE OR REPLACE TEMP MACRO reg_bool(x) AS coalesce(lower(trim(x)) IN ('是', 'true', '1', 'y', 'yes', 't'), false);
CREATE OR REPLACE TEMP MACRO reg_month(x) AS CAST(date_trunc('month', try_strptime(trim(x), [
    '%Y-%m', '%Y%m', '%Y/%m', '%Y.%m', '%Y年%m月', '%Y-%m-%d', '%Y/%m/%d'
])) AS DATE);
