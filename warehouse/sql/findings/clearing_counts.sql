-- Clearings in a period, by rule and how: auto (a later submission or extract
-- no longer trips the rule), officer (cleared at once), requested (a blocking
-- finding cleared by one officer) and confirmed (by a second officer).
SELECT rule_id, how, count(*) AS n
FROM (
    SELECT rule_id, 'auto' AS how
    FROM checks.findings
    WHERE status = 'cleared' AND cleared_how = 'auto' AND status_changed_on BETWEEN $first_day AND $last_day
    UNION ALL
    SELECT json_extract_string(detail_json, '$.rule_id') AS rule_id,
           CASE kind WHEN 'finding_cleared' THEN 'officer'
                     WHEN 'finding_clear_requested' THEN 'requested'
                     ELSE 'confirmed' END AS how
    FROM audit.events
    WHERE kind IN ('finding_cleared', 'finding_clear_requested', 'finding_clear_confirmed')
      AND CAST(occurred_at AS DATE) BETWEEN $first_day AND $last_day
) c
GROUP BY rule_id, how
ORDER BY rule_id, how
