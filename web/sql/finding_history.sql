-- The audit trail of one finding (clearings, confirmations, released versions).
SELECT occurred_at, kind, detail_json FROM audit.events
WHERE json_extract_string(detail_json, '$.finding_id') = $finding_id
ORDER BY event_id
