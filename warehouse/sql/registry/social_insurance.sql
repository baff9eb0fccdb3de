INSERT INTO registry.social_insurance (id_no, kind, monthly_amount, period, period_month, extract_date, file_sha256)
SELECT i.id_no, reg_text(s.kind), reg_money(s.monthly_amount), reg_text(s.period), reg_month(s.period),
       $extract_date, $sha
FROM _reg_stage s JOIN _reg_ids i ON s.raw_id = i.raw_id
