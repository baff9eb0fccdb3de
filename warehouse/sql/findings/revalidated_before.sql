-- How the findings of a re-validation stood before it (new_findings): to tell
-- new, reopened and seen-again findings apart.
SELECT f.finding_id, f.status, f.cleared_how FROM checks.findings f JOIN new_findings n USING (finding_id)
