-- Runs of the flows that tell towns (ingest, inspections, sample, close-month) that did
-- not complete (killed, crashed, failed) and were not swept for good yet: their items
-- may never have been queued. Oldest first.
SELECT run_id, flow, status
FROM audit.runs
WHERE list_contains($flows, flow)
  AND status <> 'completed'
  AND run_id <> $run_id
  AND run_id NOT IN (SELECT run_id FROM audit.notice_sweeps)
ORDER BY started_at
