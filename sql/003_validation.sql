-- 3PID validation sessions (email and phone) and the rate-limit counters
-- every worker and host shares.

-- One session per (medium, canonical address, client secret).  The client
-- secret is stored as its SHA-256; the token is what the mail or SMS
-- carried.  send_attempt is the largest attempt that was sent (-1: none).
-- A session expires 24 h after modified_ts (creation or validation).
CREATE TABLE validation_sessions (
	sid			text PRIMARY KEY,
	medium			text NOT NULL,
	address			text NOT NULL,
	client_secret_hash	text NOT NULL,
	token			text NOT NULL,
	next_link		text,
	send_attempt		bigint NOT NULL DEFAULT -1,
	failed_attempts		integer NOT NULL DEFAULT 0,
	created_ts		bigint NOT NULL,
	modified_ts		bigint NOT NULL,
	validated_ts		bigint,
	UNIQUE (medium, address, client_secret_hash)
);
CREATE INDEX validation_sessions_modified_ts
	ON validation_sessions (modified_ts);

-- Fixed-window counters: bucket names what is limited ("addr:email:...",
-- "ip:...", "user:..."), count how many events fell in the window that
-- starts at window_start (ms).
CREATE TABLE rate_limits (
	bucket		text PRIMARY KEY,
	window_start	bigint NOT NULL,
	count		integer NOT NULL
);
