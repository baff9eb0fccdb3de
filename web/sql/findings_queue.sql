-- The officers' findings queue: filter by town, rule (id or letter), severity, status and
-- age (days since first seen, on $today); payment-blocking first, oldest first.
SELECT finding_id, rule_id, severity, blocks_payment, town_code, case_no, id_no, status,
       first_seen_on, clear_requested_on, cleared_by, message,
       date_diff('day', first_seen_on, CAST($today AS DATE)) AS age_days,
       count(*) OVER () AS total
FROM checks.findings
WHERE (CAST($status AS VARCHAR) = 'all'
       OR ($status = 'pending' AND status = 'open' AND clear_requested_on IS NOT NULL)
       OR ($status = 'open' AND status = 'open')
       OR ($status NOT IN ('open', 'pending') AND status = $status))
  AND (CAST($town AS VARCHAR) IS NULL OR town_code = $town)
  AND (CAST($rule AS VARCHAR) IS NULL OR rule_id = $rule OR (length($rule) = 1 AND rule_id LIKE $rule || '%'))
  AND (CAST($severity AS VARCHAR) IS NULL OR severity = $severity)
  AND (NOT CAST($blocking AS BOOLEAN) OR blocks_payment)
  AND (CAST($min_age AS INTEGER) IS NULL OR date_diff('day', first_seen_on, CAST($today AS DATE)) >= $min_age)
  AND (CAST($max_age AS INTEGER) IS NULL OR date_diff('day', first_seen_on, CAST($today AS DATE)) <= $max_age)
ORDER BY blocks_payment DESC, first_seen_on, town_code, case_no, rule_id, finding_id
LIMIT CAST($limit AS INTEGER) OFFSET CAST($offset AS INTEGER)
