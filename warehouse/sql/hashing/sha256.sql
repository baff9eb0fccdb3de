-- SHA-256 of each text of the registered column hash_input.v, after a prefix (BLOB, may be empty),
-- as the first $chars lower-case hex digits: hashlib.sha256(prefix + v.encode()).hexdigest()[:chars].
SELECT left(sha256($prefix || encode(v)), $chars) AS h FROM hash_input
