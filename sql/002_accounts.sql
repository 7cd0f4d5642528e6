-- v2 accounts (register with an OpenID token), their access tokens and
-- the terms each user accepted.

CREATE TABLE accounts (
	user_id		text PRIMARY KEY,
	created_ts	bigint NOT NULL
);

-- Tokens are stored only as the hex SHA-256 of the token.  expires_ts is
-- NULL when tokens do not expire (token_lifetime = 0).
CREATE TABLE account_tokens (
	token_hash	text PRIMARY KEY,
	user_id		text NOT NULL REFERENCES accounts ON DELETE CASCADE,
	created_ts	bigint NOT NULL,
	expires_ts	bigint
);
CREATE INDEX account_tokens_user_id ON account_tokens (user_id);

-- policy_key is "<policy name>\x1f<version>": a new version of a policy
-- has a new key, so it must be accepted again.
CREATE TABLE accepted_terms (
	user_id		text NOT NULL REFERENCES accounts ON DELETE CASCADE,
	policy_key	text NOT NULL,
	url		text NOT NULL,
	accepted_ts	bigint NOT NULL,
	PRIMARY KEY (user_id, policy_key)
);
