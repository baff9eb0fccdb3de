-- The date of a source's current extract (null when it has none yet).
SELECT max(extract_date) FROM registry.extracts WHERE source = $source AND status = 'loaded' AND is_current
