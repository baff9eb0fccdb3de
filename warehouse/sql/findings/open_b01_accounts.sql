-- Open B01 findings with their evidence (a hash of the failed account) and the
-- account of the case's current version.
SELECT f.finding_id, f.evidence_key, c.account_no
FROM checks.findings f
JOIN core.case_versions c ON c.town_code = f.town_code AND c.case_no = f.case_no AND c.is_current
WHERE f.rule_id = 'B01' AND f.status = 'open'
