-- X03: the household owns more distinct 住宅 property_ids than allowed (two or
-- more), or any 商业 property (asset_thresholds, dated). About the household
-- (no member). Evidence key: the offending property_ids, sorted and joined.
WITH owned AS (
    SELECT DISTINCT town_code, case_no, property_id, use
    FROM xc_reg_real_estate
    WHERE use IN ('住宅', '商业') AND property_id IS NOT NULL
), per_household AS (
    SELECT town_code, case_no,
           count(*) FILTER (WHERE use = '住宅') AS residential,
           count(*) FILTER (WHERE use = '商业') AS commercial,
           list(property_id ORDER BY property_id) FILTER (WHERE use = '住宅') AS residential_ids,
           list(property_id ORDER BY property_id) FILTER (WHERE use = '商业') AS commercial_ids
    FROM owned
    GROUP BY town_code, case_no
)
SELECT town_code, case_no, NULL::VARCHAR AS id_no,
       array_to_string(list_sort(list_concat(
           CASE WHEN residential > $max_residential THEN residential_ids ELSE [] END,
           CASE WHEN commercial > $max_commercial THEN commercial_ids ELSE [] END)), ',') AS property_ids,
       residential, commercial
FROM per_household
WHERE residential > $max_residential OR commercial > $max_commercial
