-- v1 lookups answer the association bind signed, rather than signing it
-- again on every request (an Ed25519 signature is most of such a
-- request's own work).  signing_keys names each key that ever signed a
-- stored association: workers register their key (id and public key) on
-- first use, so a key id used again for another key never passes an old
-- signature off as the new key's.  A binding whose signed_by is not the
-- current key's (an older key, an import from sydent, a row from before
-- this migration) is signed at lookup time as before.
CREATE TABLE signing_keys (
	id		serial PRIMARY KEY,
	key_id		text NOT NULL,
	public_key	text NOT NULL,
	first_used_ts	bigint NOT NULL,
	UNIQUE (key_id, public_key)
);

ALTER TABLE bindings
	ADD COLUMN signature text,
	ADD COLUMN signed_by integer REFERENCES signing_keys (id);
