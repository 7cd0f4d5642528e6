/*
 * The database: all SQL, in one table.  Each statement is prepared as
 * "s<index>" whenever a connection is made (common/db.c) and named in
 * logs by its name here.
 */
#include "db.h"
#include "dbint.h"

/* The v2 gate's question as a CTE "auth (user_id, agreed)": asked alone
 * (STMT_AUTH_LOOKUP) or inside a statement that does its work in the
 * same round trip.  The token's hash is $1, the current policy keys $2,
 * now $3.  Without policies accepted_terms is not read at all. */
#define AUTH_CTE \
	"WITH auth AS MATERIALIZED (SELECT t.user_id," \
	" CASE WHEN cardinality($2::text[]) = 0 THEN 0 ELSE" \
	" (SELECT count(*) FROM accepted_terms a WHERE a.user_id = t.user_id" \
	" AND a.policy_key = ANY($2::text[])) END" \
	" AS agreed FROM account_tokens t WHERE t.token_hash = $1" \
	" AND (t.expires_ts IS NULL OR t.expires_ts > $3)) "

#define SESSION_COLUMNS \
	"sid, medium, address, client_secret_hash, token, next_link," \
	" send_attempt, failed_attempts, created_ts, modified_ts," \
	" coalesce(validated_ts, 0)"

/*
 * Taking units (SQL expressions all) from the sliding-window limit of
 * bucket: RATE_NOW is a CTE n (now by PostgreSQL's clock, the slot
 * width) and RATE_TAKE the INSERT ... ON CONFLICT DO UPDATE that slides
 * and takes in one atomic step, as rate_limits "r"; from continues the
 * FROM clause of its SELECT ("FROM n"), and bucket may name its columns.
 * The state and the rule are in sql/009_sliding_rate_limits.sql: the row
 * counts 11 slots of a tenth of the window, the current one and the ten
 * before it.  A request needs cost units and asks for want (at least
 * cost; the rest is a lease its worker spends before the slot ends): it
 * is granted as many of want as the window has room for, when that is
 * at least cost, else none.  RATE_SHIFT is "before" slid to the current
 * slot (RATE_SLID slots later; all of them when the window changed),
 * RATE_ROOM what the window has room for.
 */
#define RATE_SLID \
	"(CASE WHEN r.slot_ms <> EXCLUDED.slot_ms THEN 11" \
	" ELSE LEAST(GREATEST(EXCLUDED.slot - r.slot, 0), 11) END)::int"
#define RATE_SHIFT \
	"(array_fill(r.total, ARRAY[" RATE_SLID "]) ||" \
	" r.before[1:11 - " RATE_SLID "])"
#define RATE_ROOM(limit) \
	"(" limit " - r.total + (" RATE_SHIFT ")[11])"
#define RATE_GRANT(limit, cost, want) \
	"CASE WHEN " cost " <= " RATE_ROOM(limit) " THEN LEAST(" want ", " \
	RATE_ROOM(limit) ") ELSE 0 END"
#define RATE_NOW(window) \
	"n AS MATERIALIZED (SELECT (extract(epoch FROM" \
	" clock_timestamp()) * 1000)::bigint AS now," \
	" (" window "::bigint + 9) / 10 AS w)"
#define RATE_TAKE(bucket, limit, cost, want, from) \
	"INSERT INTO rate_limits AS r (bucket, slot_ms, slot, total, before," \
	" granted) SELECT " bucket ", n.w, n.now / n.w, g.g," \
	" array_fill(0::bigint, ARRAY[11]), g.g FROM n, LATERAL (SELECT" \
	" CASE WHEN " cost "::bigint <= " limit "::bigint THEN LEAST(" want \
	"::bigint, " limit ") ELSE 0 END AS g) AS g" from \
	" ON CONFLICT (bucket) DO UPDATE SET slot_ms = EXCLUDED.slot_ms," \
	" slot = CASE WHEN r.slot_ms = EXCLUDED.slot_ms" \
	" THEN GREATEST(r.slot, EXCLUDED.slot) ELSE EXCLUDED.slot END," \
	" total = r.total + " RATE_GRANT(limit, cost, want) "," \
	" before = " RATE_SHIFT ", granted = " RATE_GRANT(limit, cost, want)
/*
 * For RETURNING, as "granted, retry, lease": the units granted (0: the
 * request is refused); when refused, the ms from now until it would not
 * be: until the first slot boundary after which the slots still counted
 * leave room for cost (a whole window when nothing ever could); and the
 * ms until the current slot ends, when a lease must be spent by.
 */
#define RATE_ANSWER(limit, cost, now) \
	"r.granted, CASE WHEN r.granted > 0 THEN 0 ELSE (r.slot +" \
	" (SELECT coalesce(min(m), 11) FROM generate_series(1, 11) AS m" \
	" WHERE CASE WHEN m = 11 THEN r.total ELSE r.before[11 - m] END" \
	" >= r.total + " cost " - " limit ")) * r.slot_ms - " now " END" \
	" AS retry, (r.slot + 1) * r.slot_ms - " now " AS lease"

/*
 * The v2 lookup limit as CTEs after AUTH_CTE: "rl (granted, retry,
 * lease)" takes from the limit of the token's user, only when the user
 * accepted every policy and the pepper sent (pepper) is the current one,
 * and only when limit is not 0.  A statement with it stays safe to run
 * again after a lost connection (STMT_READ_ONLY): at worst a request
 * counts twice.
 */
#define LOOKUP_LIMIT(pepper, window, limit, cost, want) \
	RATE_NOW(window) ", rl AS (" \
	RATE_TAKE("'lookup:user:' || auth.user_id", limit, cost, want, \
	", auth, lookup_pepper p WHERE auth.agreed >= $4" \
	" AND p.pepper = " pepper " AND " limit "::bigint > 0") \
	" RETURNING " RATE_ANSWER(limit, cost, "(SELECT now FROM n)") \
	") "

/*
 * Every statement: its name (in logs), SQL, number of parameters and
 * flags, indexed by enum stmt.
 */
const struct db_stmt db_stmts[STMT__MAX] = {
	[STMT_SCHEMA_VERSION] = { "schema_version",
	    "SELECT coalesce(max(version), 0) FROM schema_migrations",
	    0, STMT_READ_ONLY },
	[STMT_EPHEMERAL_KEY_EXISTS] = { "ephemeral_key_exists",
	    "SELECT 1 FROM ephemeral_public_keys WHERE public_key = $1"
	    " AND (expires_ts IS NULL OR expires_ts > $2)",
	    2, STMT_READ_ONLY },
	/* The v2 gate: one indexed query gives the user and how many of the
	 * current policies ($2) they accepted. */
	[STMT_AUTH_LOOKUP] = { "auth_lookup",
	    AUTH_CTE "SELECT user_id, agreed FROM auth",
	    3, STMT_READ_ONLY },
	[STMT_ACCOUNT_REGISTER] = { "account_register",
	    "WITH a AS (INSERT INTO accounts (user_id, created_ts)"
	    " VALUES ($2, $3) ON CONFLICT DO NOTHING)"
	    " INSERT INTO account_tokens (token_hash, user_id, created_ts,"
	    " expires_ts) VALUES ($1, $2, $3, $4)",
	    4, 0 },
	[STMT_TOKEN_DELETE] = { "token_delete",
	    "DELETE FROM account_tokens WHERE token_hash = $1",
	    1, 0 },
	[STMT_TERMS_ACCEPT] = { "terms_accept",
	    "INSERT INTO accepted_terms (user_id, policy_key, url, accepted_ts)"
	    " SELECT $1, k, u, $4 FROM unnest($2::text[], $3::text[]) AS x(k, u)"
	    " ON CONFLICT DO NOTHING",
	    4, 0 },
	[STMT_SESSION_INSERT] = { "session_insert",
	    "INSERT INTO validation_sessions (sid, medium, address,"
	    " client_secret_hash, token, next_link, created_ts, modified_ts)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
	    " ON CONFLICT (medium, address, client_secret_hash) DO NOTHING",
	    7, 0 },
	[STMT_SESSION_LOCK] = { "session_lock",
	    "SELECT " SESSION_COLUMNS " FROM validation_sessions"
	    " WHERE medium = $1 AND address = $2 AND client_secret_hash = $3"
	    " FOR UPDATE",
	    3, 0 },
	[STMT_SESSION_LOCK_BY_SID] = { "session_lock_by_sid",
	    "SELECT " SESSION_COLUMNS " FROM validation_sessions"
	    " WHERE sid = $1 FOR UPDATE",
	    1, 0 },
	[STMT_SESSION_GET] = { "session_get",
	    "SELECT " SESSION_COLUMNS " FROM validation_sessions"
	    " WHERE sid = $1",
	    1, STMT_READ_ONLY },
	[STMT_SESSION_DELETE] = { "session_delete",
	    "DELETE FROM validation_sessions WHERE sid = $1",
	    1, 0 },
	[STMT_SESSION_SENT] = { "session_sent",
	    "UPDATE validation_sessions SET send_attempt = $2 WHERE sid = $1",
	    2, 0 },
	[STMT_SESSION_FAILED_ATTEMPT] = { "session_failed_attempt",
	    "UPDATE validation_sessions SET failed_attempts ="
	    " failed_attempts + 1 WHERE sid = $1",
	    1, 0 },
	[STMT_SESSION_VALIDATED] = { "session_validated",
	    "UPDATE validation_sessions SET validated_ts = $2,"
	    " modified_ts = $2 WHERE sid = $1 AND validated_ts IS NULL",
	    2, 0 },
	/* A sliding window (sql/009_sliding_rate_limits.sql): bucket $1,
	 * window $2 ms, limit $3, cost $4, want $5.  Returns RATE_ANSWER. */
	[STMT_RATE_TAKE] = { "rate_take",
	    "WITH " RATE_NOW("$2") " " RATE_TAKE("$1", "$3", "$4", "$5", "")
	    " RETURNING " RATE_ANSWER("$3", "$4", "(SELECT now FROM n)"),
	    5, 0 },
	/* The lookup hash comes from PostgreSQL, under the pepper of the
	 * same snapshot, as deploy/sigil-rotate-pepper computes it. */
	[STMT_BIND_INSERT] = { "bind_insert",
	    "INSERT INTO bindings (medium, address, mxid, ts, not_before,"
	    " not_after, lookup_hash, signature, signed_by, origin)"
	    " SELECT $1, $2, $3, $4, $4, $5,"
	    " sigil_lookup_hash($2, $1, p.pepper), $6, $7, $8"
	    " FROM lookup_pepper p"
	    " ON CONFLICT (medium, address) DO UPDATE SET mxid = EXCLUDED.mxid,"
	    " ts = EXCLUDED.ts, not_before = EXCLUDED.not_before,"
	    " not_after = EXCLUDED.not_after,"
	    " lookup_hash = EXCLUDED.lookup_hash,"
	    " signature = EXCLUDED.signature, signed_by = EXCLUDED.signed_by,"
	    " origin = EXCLUDED.origin",
	    8, 0 },
	[STMT_BINDING_GET] = { "binding_get",
	    "SELECT mxid, ts, not_before, not_after, coalesce(signature, ''),"
	    " coalesce(signed_by, 0) FROM bindings"
	    " WHERE medium = $1 AND address = $2",
	    2, STMT_READ_ONLY },
	/* The number signing_keys gives this key, registering it if new.
	 * The second SELECT finds a row the INSERT left alone (it cannot see
	 * the INSERT's own row, hence both). */
	[STMT_SIGNING_KEY_REF] = { "signing_key_ref",
	    "WITH ins AS (INSERT INTO signing_keys (key_id, public_key,"
	    " first_used_ts) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
	    " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM"
	    " signing_keys WHERE key_id = $1 AND public_key = $2",
	    3, 0 },
	[STMT_UNBIND] = { "unbind",
	    "DELETE FROM bindings WHERE medium = $1 AND address = $2"
	    " AND mxid = $3",
	    3, 0 },
	/* Every binding, for sigil-sync: (medium, address, mxid, origin). */
	[STMT_BINDINGS_ALL] = { "bindings_all",
	    "SELECT medium, address, mxid, origin FROM bindings",
	    0, STMT_READ_ONLY },
	/* Removes the bindings sigil-sync made of the (medium, address,
	 * mxid) triples in three arrays; never one a user made. */
	[STMT_UNBIND_SYNCED] = { "unbind_synced",
	    "DELETE FROM bindings b USING unnest($1::text[], $2::text[],"
	    " $3::text[]) AS x(medium, address, mxid)"
	    " WHERE b.medium = x.medium AND b.address = x.address"
	    " AND b.mxid = x.mxid AND b.origin = 'sync'",
	    3, 0 },
	/* One sigil-sync run at a time, database-wide: a session lock. */
	[STMT_SYNC_LOCK] = { "sync_lock",
	    "SELECT pg_try_advisory_lock(hashtext('sigil-sync'))",
	    0, 0 },
	[STMT_SYNC_UNLOCK] = { "sync_unlock",
	    "SELECT pg_advisory_unlock(hashtext('sigil-sync'))",
	    0, 0 },
	[STMT_PEPPER] = { "pepper",
	    "SELECT pepper FROM lookup_pepper",
	    0, STMT_READ_ONLY },
	/* The v2 gate and the pepper (hash_details) in one round trip. */
	[STMT_PEPPER_AUTH] = { "pepper_auth",
	    AUTH_CTE "SELECT auth.user_id, auth.agreed, p.pepper"
	    " FROM auth CROSS JOIN lookup_pepper p",
	    3, STMT_READ_ONLY },
	/* Many (medium, address) pairs in one query; x.i says which. */
	[STMT_LOOKUP_PAIRS] = { "lookup_pairs",
	    "SELECT NULL, x.i, b.mxid FROM unnest($1::text[], $2::text[])"
	    " WITH ORDINALITY AS x(m, a, i)"
	    " JOIN bindings b ON b.medium = x.m AND b.address = x.a",
	    2, STMT_READ_ONLY },
	/* The same, only when $3 is the current pepper: the pepper and the
	 * bindings come from one snapshot, so a rotation cannot fall
	 * between them.  There is always a row, with the pepper. */
	[STMT_LOOKUP_PAIRS_PEPPER] = { "lookup_pairs_pepper",
	    "SELECT p.pepper, x.i, x.mxid FROM lookup_pepper p LEFT JOIN"
	    " (SELECT y.i, b.mxid FROM unnest($1::text[], $2::text[])"
	    " WITH ORDINALITY AS y(m, a, i)"
	    " JOIN bindings b ON b.medium = y.m AND b.address = y.a) x"
	    " ON p.pepper = $3",
	    3, STMT_READ_ONLY },
	[STMT_LOOKUP_HASHES] = { "lookup_hashes",
	    "SELECT p.pepper, x.i, x.mxid FROM lookup_pepper p LEFT JOIN"
	    " (SELECT y.i, b.mxid FROM unnest($1::text[])"
	    " WITH ORDINALITY AS y(h, i)"
	    " JOIN bindings b ON b.lookup_hash = y.h) x"
	    " ON p.pepper = $2",
	    2, STMT_READ_ONLY },
	/* The two lookups above and the v2 gate in one statement: no row
	 * for an unknown token; else the user and how many policies they
	 * accepted on every row, and matches only when that is all $4 of
	 * them.  The lookup runs for no one who may not make it. */
	[STMT_LOOKUP_PAIRS_AUTH] = { "lookup_pairs_auth",
	    AUTH_CTE "SELECT auth.user_id, auth.agreed, p.pepper, x.i, x.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN"
	    " (SELECT y.i, b.mxid FROM unnest($5::text[], $6::text[])"
	    " WITH ORDINALITY AS y(m, a, i)"
	    " JOIN bindings b ON b.medium = y.m AND b.address = y.a) x"
	    " ON p.pepper = $7 AND auth.agreed >= $4",
	    7, STMT_READ_ONLY },
	[STMT_LOOKUP_HASHES_AUTH] = { "lookup_hashes_auth",
	    AUTH_CTE "SELECT auth.user_id, auth.agreed, p.pepper, x.i, x.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN"
	    " (SELECT y.i, b.mxid FROM unnest($5::text[])"
	    " WITH ORDINALITY AS y(h, i)"
	    " JOIN bindings b ON b.lookup_hash = y.h) x"
	    " ON p.pepper = $6 AND auth.agreed >= $4",
	    6, STMT_READ_ONLY },
	/* The same for one hash, which is what homeservers send: a point
	 * query whose generic plan PostgreSQL keeps, so it is not planned
	 * again on every request as the unnest() ones are. */
	[STMT_LOOKUP_HASH_ONE_AUTH] = { "lookup_hash_one_auth",
	    AUTH_CTE "SELECT auth.user_id, auth.agreed, p.pepper,"
	    " CASE WHEN b.mxid IS NULL THEN NULL ELSE 1 END, b.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN bindings b"
	    " ON b.lookup_hash = $5 AND p.pepper = $6 AND auth.agreed >= $4",
	    6, STMT_READ_ONLY },
	/* The three above with the user's lookup limit: matches only when
	 * the limit granted the request too.  The last four parameters are
	 * the limit's window (ms), count (0: none), the request's cost and
	 * what it wants (LOOKUP_LIMIT); the limit takes only from a user who
	 * may look up with the current pepper, and its answer (RATE_ANSWER;
	 * NULLs when it took nothing) is on every row. */
	[STMT_LOOKUP_PAIRS_LIMIT] = { "lookup_pairs_limit",
	    AUTH_CTE ", " LOOKUP_LIMIT("$7", "$8", "$9", "$10", "$11")
	    "SELECT auth.user_id, auth.agreed, rl.granted, rl.retry,"
	    " rl.lease, p.pepper, x.i, x.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN rl ON true"
	    " LEFT JOIN (SELECT y.i, b.mxid FROM unnest($5::text[], $6::text[])"
	    " WITH ORDINALITY AS y(m, a, i)"
	    " JOIN bindings b ON b.medium = y.m AND b.address = y.a) x"
	    " ON p.pepper = $7 AND auth.agreed >= $4"
	    " AND coalesce(rl.granted > 0, true)",
	    11, STMT_READ_ONLY },
	[STMT_LOOKUP_HASHES_LIMIT] = { "lookup_hashes_limit",
	    AUTH_CTE ", " LOOKUP_LIMIT("$6", "$7", "$8", "$9", "$10")
	    "SELECT auth.user_id, auth.agreed, rl.granted, rl.retry,"
	    " rl.lease, p.pepper, x.i, x.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN rl ON true"
	    " LEFT JOIN (SELECT y.i, b.mxid FROM unnest($5::text[])"
	    " WITH ORDINALITY AS y(h, i)"
	    " JOIN bindings b ON b.lookup_hash = y.h) x"
	    " ON p.pepper = $6 AND auth.agreed >= $4"
	    " AND coalesce(rl.granted > 0, true)",
	    10, STMT_READ_ONLY },
	[STMT_LOOKUP_HASH_ONE_LIMIT] = { "lookup_hash_one_limit",
	    AUTH_CTE ", " LOOKUP_LIMIT("$6", "$7", "$8", "$9", "$10")
	    "SELECT auth.user_id, auth.agreed, rl.granted, rl.retry,"
	    " rl.lease, p.pepper,"
	    " CASE WHEN b.mxid IS NULL THEN NULL ELSE 1 END, b.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN rl ON true"
	    " LEFT JOIN bindings b ON b.lookup_hash = $5 AND p.pepper = $6"
	    " AND auth.agreed >= $4 AND coalesce(rl.granted > 0, true)",
	    10, STMT_READ_ONLY },
	[STMT_EPHEMERAL_KEY_INSERT] = { "ephemeral_key_insert",
	    "INSERT INTO ephemeral_public_keys (public_key, created_ts,"
	    " expires_ts) VALUES ($1, $2, $3)",
	    3, 0 },
	[STMT_INVITE_INSERT] = { "invite_insert",
	    "INSERT INTO invites (token, medium, address, room_id, sender,"
	    " ephemeral_public_key, created_ts, expires_ts)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	    8, 0 },
	[STMT_INVITE_GET] = { "invite_get",
	    "SELECT sender, coalesce(ephemeral_public_key, '') FROM invites"
	    " WHERE token = $1 AND expires_ts > $2",
	    2, STMT_READ_ONLY },
	/* In bind's transaction: the invites a delivery will carry, locked
	 * so that two binds of one address cannot both take them. */
	[STMT_INVITES_PENDING] = { "invites_pending",
	    "SELECT token, room_id, sender FROM invites"
	    " WHERE medium = $1 AND address = $2 AND outbox_id IS NULL"
	    " AND delivered_ts IS NULL AND expires_ts > $3"
	    " ORDER BY created_ts, token FOR UPDATE",
	    3, 0 },
	/* The NOTIFY reaches sigil-notify when the transaction commits. */
	[STMT_OUTBOX_INSERT] = { "outbox_insert",
	    "INSERT INTO onbind_outbox (destination, body, created_ts,"
	    " next_attempt_ts) VALUES ($1, $2, $3, $3)"
	    " RETURNING id, pg_notify('" DB_ONBIND_CHANNEL "', '')",
	    3, 0 },
	[STMT_INVITES_ATTACH] = { "invites_attach",
	    "UPDATE invites SET outbox_id = $1 WHERE token = ANY($2::text[])",
	    2, 0 },
	/* One due delivery, locked for as long as it is being delivered;
	 * rows other sigil-notify processes hold are skipped. */
	[STMT_OUTBOX_NEXT] = { "outbox_next",
	    "SELECT id, destination, body, attempts, coalesce(last_error, '')"
	    " FROM onbind_outbox WHERE next_attempt_ts <= $1 ORDER BY next_attempt_ts, id"
	    " LIMIT 1 FOR UPDATE SKIP LOCKED",
	    1, 0 },
	[STMT_OUTBOX_NEXT_DUE] = { "outbox_next_due",
	    "SELECT coalesce(min(next_attempt_ts), 0), count(*)"
	    " FROM onbind_outbox",
	    0, STMT_READ_ONLY },
	[STMT_OUTBOX_RETRY] = { "outbox_retry",
	    "UPDATE onbind_outbox SET attempts = attempts + 1,"
	    " next_attempt_ts = $2, last_error = $3 WHERE id = $1",
	    3, 0 },
	[STMT_OUTBOX_DELETE] = { "outbox_delete",
	    "DELETE FROM onbind_outbox WHERE id = $1",
	    1, 0 },
	[STMT_INVITES_DELIVERED] = { "invites_delivered",
	    "UPDATE invites SET delivered_ts = $2 WHERE outbox_id = $1",
	    2, 0 },
	[STMT_INVITES_DELETE_DELIVERED] = { "invites_delete_delivered",
	    "DELETE FROM invites WHERE outbox_id = $1",
	    1, 0 },
};
