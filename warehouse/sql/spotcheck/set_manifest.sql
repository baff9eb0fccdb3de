-- Keep the manifest text first written for a month's draw, with its SHA-256, so later runs write it verbatim.
UPDATE checks.spotcheck_draws
SET manifest_json = $manifest_json, manifest_sha256 = $manifest_sha256
WHERE period = $period
