-- Bindings between 3PIDs and Matrix user IDs, and the lookup pepper.

-- One user ID per 3PID; binding again replaces.  lookup_hash is the v2
-- sha256 lookup hash of "<address> <medium> <pepper>" under the current
-- pepper, computed by PostgreSQL at bind time and at pepper rotation
-- (deploy/sigil-rotate-pepper), so both always agree.
CREATE TABLE bindings (
	medium		text NOT NULL,
	address		text NOT NULL,
	mxid		text NOT NULL,
	ts		bigint NOT NULL,
	not_before	bigint NOT NULL,
	not_after	bigint NOT NULL,
	lookup_hash	text NOT NULL,
	PRIMARY KEY (medium, address)
);
CREATE INDEX bindings_lookup_hash ON bindings (lookup_hash);
CREATE INDEX bindings_mxid ON bindings (mxid);

-- The one current pepper: 64 characters of [0-9a-f] from two random UUIDs
-- (gen_random_uuid draws on a strong random source).
CREATE TABLE lookup_pepper (
	one	boolean PRIMARY KEY DEFAULT true CHECK (one),
	pepper	text NOT NULL CHECK (pepper ~ '^[a-zA-Z0-9]+$')
);
INSERT INTO lookup_pepper (pepper) VALUES (
	replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

-- The lookup hash, as the spec defines it: URL-safe unpadded base64 of
-- SHA-256 of "<address> <medium> <pepper>".
CREATE FUNCTION sigil_lookup_hash(address text, medium text, pepper text)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT rtrim(translate(encode(sha256(convert_to(
	    address || ' ' || medium || ' ' || pepper, 'UTF8')), 'base64'),
	    '+/', '-_'), '=')
$$;
