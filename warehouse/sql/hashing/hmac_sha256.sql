-- HMAC-SHA256 (RFC 2104) of each text of the registered column hash_input.v, with the key's pads
-- bound as BLOBs (transforms.identifiers.hmac_pads), as the first $chars hex digits:
-- hmac.new(key, v.encode(), "sha256").hexdigest()[:chars].
SELECT left(sha256($outer || unhex(sha256($inner || encode(v)))), $chars) AS h FROM hash_input
