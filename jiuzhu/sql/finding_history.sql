-- jiuzhu findings show: the audit events of one finding (clearings, confirmations).
SELECT occurred_at, kind, detail_json FROM audit.events
WHERE json_extract_string(detail_json, '$.finding_id') = $fid
ORDER BY event_id
