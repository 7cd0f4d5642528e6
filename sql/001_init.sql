-- The first schema.  schema_migrations itself is created by
-- deploy/sigil-migrate, which records each file applied.

-- Public halves of the ephemeral keys made for email invitations
-- (store-invite); pubkey/ephemeral/isvalid matches them exactly.
CREATE TABLE ephemeral_public_keys (
	public_key	text PRIMARY KEY,
	created_ts	bigint NOT NULL
);
