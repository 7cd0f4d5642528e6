-- Email invitations (store-invite) and the onbind deliveries that carry
-- them to the invitee's homeserver once the address is bound.

-- An ephemeral key is valid until the invite it was made for expires.
-- Keys stored before this column (none by sigil; imports may bring some)
-- have no end.
ALTER TABLE ephemeral_public_keys ADD COLUMN expires_ts bigint;

-- Deliveries waiting for sigil-notify: a signed association with its
-- invites, to POST to destination's /_matrix/federation/v1/3pid/onbind.
-- A row is locked (FOR UPDATE SKIP LOCKED) while it is being delivered,
-- and deleted once the homeserver answered 200.
CREATE TABLE onbind_outbox (
	id		bigserial PRIMARY KEY,
	destination	text NOT NULL,		-- server name of the mxid
	body		text NOT NULL,		-- the JSON to POST
	created_ts	bigint NOT NULL,
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_ts	bigint NOT NULL,
	last_error	text
);
CREATE INDEX onbind_outbox_due ON onbind_outbox (next_attempt_ts);

-- A pending invite of an address into a room.  outbox_id is set when a
-- bind of that address attached the invite to a delivery, so a second
-- bind does not attach it again; delivered_ts when the homeserver took
-- it (or the row is deleted, as invite_delete_on_delivery says).
CREATE TABLE invites (
	token			text PRIMARY KEY,
	medium			text NOT NULL,
	address			text NOT NULL,	-- canonical
	room_id			text NOT NULL,
	sender			text NOT NULL,
	ephemeral_public_key	text NOT NULL
	    REFERENCES ephemeral_public_keys (public_key) ON DELETE CASCADE,
	created_ts		bigint NOT NULL,
	expires_ts		bigint NOT NULL,
	outbox_id		bigint
	    REFERENCES onbind_outbox (id) ON DELETE SET NULL,
	delivered_ts		bigint
);
CREATE INDEX invites_pending ON invites (medium, address)
    WHERE outbox_id IS NULL AND delivered_ts IS NULL;
CREATE INDEX invites_outbox ON invites (outbox_id) WHERE outbox_id IS NOT NULL;
CREATE INDEX invites_ephemeral_key ON invites (ephemeral_public_key);
