-- X04: a member is 法定代表人 or 股东 of a business whose status is 存续.
-- Evidence key: the business's unified social credit code.
SELECT town_code, case_no, id_no,
       coalesce(uscc, '（无代码）') AS uscc,
       string_agg(DISTINCT role, '、' ORDER BY role) AS role
FROM xc_reg_business
WHERE role IN ('法定代表人', '股东') AND status = '存续'
GROUP BY town_code, case_no, id_no, coalesce(uscc, '（无代码）')
