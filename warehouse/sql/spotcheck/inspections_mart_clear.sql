-- mart.inspections_monthly is rebuilt whole: every drawn month from the results received so far.
DELETE FROM mart.inspections_monthly
