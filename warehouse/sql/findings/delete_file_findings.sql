-- A file read again on purpose (--reprocess): its earlier P- and V-findings
-- are replaced by the ones raised now.
DELETE FROM checks.findings WHERE file_sha256 = $sha AND rule_id SIMILAR TO '[PV][0-9]+'
