-- A cross-check finding that this run did not find again is cleared
-- automatically, when its case was in the population checked (xc_scope) or
-- has left both populations (停发, 终止, 作废, 不予批准). X01 (death) is never
-- cleared by an extract: only when the case's current version no longer lists
-- the member, or the case's 停发/终止 has taken effect, or it was 作废.
UPDATE checks.findings f
SET status = 'cleared', cleared_how = 'auto', status_changed_on = $as_of,
    clear_reason = '复查未再发现（自动解除）'
WHERE f.status = 'open'
  AND list_contains($rule_ids, f.rule_id)
  AND f.finding_id NOT IN (SELECT finding_id FROM xc_found)
  AND (
        EXISTS (SELECT 1 FROM xc_cases c
                WHERE c.town_code = f.town_code AND c.case_no = f.case_no
                  AND list_contains($populations, c.population))
     OR NOT EXISTS (SELECT 1 FROM xc_cases c WHERE c.town_code = f.town_code AND c.case_no = f.case_no)
  )
  AND (
        f.rule_id <> 'X01'
     OR NOT EXISTS (SELECT 1 FROM core.members_current m
                    WHERE m.town_code = f.town_code AND m.case_no = f.case_no AND m.id_no = f.id_no)
     OR EXISTS (SELECT 1 FROM core.cases_current c
                WHERE c.town_code = f.town_code AND c.case_no = f.case_no
                  AND (c.status = 'void'
                       OR (c.status IN ('suspended', 'terminated') AND coalesce(c.effective_month, $as_of) <= $as_of)))
  )
RETURNING f.rule_id
