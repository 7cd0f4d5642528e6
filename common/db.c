/*
 * PostgreSQL through libpq.  All SQL is in stmts[], indexed by enum stmt
 * and prepared as "s<index>" whenever a connection is made.  Connections
 * break when PostgreSQL restarts: a statement that fails on a broken
 * connection reconnects, prepares again and, when the statement only
 * reads, runs once more, so the worker carries on without a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "part.h"
#include "util.h"

PART_LINKED(PART_DB)

enum stmt {
	STMT_SCHEMA_VERSION,
	STMT_EPHEMERAL_KEY_EXISTS,
	STMT_AUTH_LOOKUP,
	STMT_ACCOUNT_REGISTER,
	STMT_TOKEN_DELETE,
	STMT_TERMS_ACCEPT,
	STMT_SESSION_INSERT,
	STMT_SESSION_LOCK,
	STMT_SESSION_LOCK_BY_SID,
	STMT_SESSION_GET,
	STMT_SESSION_DELETE,
	STMT_SESSION_SENT,
	STMT_SESSION_FAILED_ATTEMPT,
	STMT_SESSION_VALIDATED,
	STMT_RATE_TAKE,
	STMT_BIND,
	STMT_BINDING_GET,
	STMT_SIGNING_KEY_REF,
	STMT_UNBIND,
	STMT_PEPPER,
	STMT_PEPPER_AUTH,
	STMT_LOOKUP_PAIRS,
	STMT_LOOKUP_PAIRS_PEPPER,
	STMT_LOOKUP_HASHES,
	STMT_LOOKUP_PAIRS_AUTH,
	STMT_LOOKUP_HASHES_AUTH,
	STMT_LOOKUP_HASH_ONE_AUTH,
	STMT_LOOKUP_PAIRS_LIMIT,
	STMT_LOOKUP_HASHES_LIMIT,
	STMT_LOOKUP_HASH_ONE_LIMIT,
	STMT_EPHEMERAL_KEY_INSERT,
	STMT_INVITE_INSERT,
	STMT_INVITE_GET,
	STMT_INVITES_PENDING,
	STMT_OUTBOX_INSERT,
	STMT_INVITES_ATTACH,
	STMT_OUTBOX_NEXT,
	STMT_OUTBOX_NEXT_DUE,
	STMT_OUTBOX_RETRY,
	STMT_OUTBOX_DELETE,
	STMT_INVITES_DELIVERED,
	STMT_INVITES_DELETE_DELIVERED,
	STMT__MAX
};

#define STMT_READ_ONLY	0x01	/* safe to run again after a reconnect */

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

static const struct {
	const char	*sql;
	int		 nparams;
	int		 flags;
} stmts[STMT__MAX] = {
	[STMT_SCHEMA_VERSION] = {
	    "SELECT coalesce(max(version), 0) FROM schema_migrations",
	    0, STMT_READ_ONLY },
	[STMT_EPHEMERAL_KEY_EXISTS] = {
	    "SELECT 1 FROM ephemeral_public_keys WHERE public_key = $1"
	    " AND (expires_ts IS NULL OR expires_ts > $2)",
	    2, STMT_READ_ONLY },
	/* The v2 gate: one indexed query gives the user and how many of the
	 * current policies ($2) they accepted. */
	[STMT_AUTH_LOOKUP] = {
	    AUTH_CTE "SELECT user_id, agreed FROM auth",
	    3, STMT_READ_ONLY },
	[STMT_ACCOUNT_REGISTER] = {
	    "WITH a AS (INSERT INTO accounts (user_id, created_ts)"
	    " VALUES ($2, $3) ON CONFLICT DO NOTHING)"
	    " INSERT INTO account_tokens (token_hash, user_id, created_ts,"
	    " expires_ts) VALUES ($1, $2, $3, $4)",
	    4, 0 },
	[STMT_TOKEN_DELETE] = {
	    "DELETE FROM account_tokens WHERE token_hash = $1",
	    1, 0 },
	[STMT_TERMS_ACCEPT] = {
	    "INSERT INTO accepted_terms (user_id, policy_key, url, accepted_ts)"
	    " SELECT $1, k, u, $4 FROM unnest($2::text[], $3::text[]) AS x(k, u)"
	    " ON CONFLICT DO NOTHING",
	    4, 0 },
	[STMT_SESSION_INSERT] = {
	    "INSERT INTO validation_sessions (sid, medium, address,"
	    " client_secret_hash, token, next_link, created_ts, modified_ts)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
	    " ON CONFLICT (medium, address, client_secret_hash) DO NOTHING",
	    7, 0 },
	[STMT_SESSION_LOCK] = {
	    "SELECT " SESSION_COLUMNS " FROM validation_sessions"
	    " WHERE medium = $1 AND address = $2 AND client_secret_hash = $3"
	    " FOR UPDATE",
	    3, 0 },
	[STMT_SESSION_LOCK_BY_SID] = {
	    "SELECT " SESSION_COLUMNS " FROM validation_sessions"
	    " WHERE sid = $1 FOR UPDATE",
	    1, 0 },
	[STMT_SESSION_GET] = {
	    "SELECT " SESSION_COLUMNS " FROM validation_sessions"
	    " WHERE sid = $1",
	    1, STMT_READ_ONLY },
	[STMT_SESSION_DELETE] = {
	    "DELETE FROM validation_sessions WHERE sid = $1",
	    1, 0 },
	[STMT_SESSION_SENT] = {
	    "UPDATE validation_sessions SET send_attempt = $2 WHERE sid = $1",
	    2, 0 },
	[STMT_SESSION_FAILED_ATTEMPT] = {
	    "UPDATE validation_sessions SET failed_attempts ="
	    " failed_attempts + 1 WHERE sid = $1",
	    1, 0 },
	[STMT_SESSION_VALIDATED] = {
	    "UPDATE validation_sessions SET validated_ts = $2,"
	    " modified_ts = $2 WHERE sid = $1 AND validated_ts IS NULL",
	    2, 0 },
	/* A sliding window (sql/009_sliding_rate_limits.sql): bucket $1,
	 * window $2 ms, limit $3, cost $4, want $5.  Returns RATE_ANSWER. */
	[STMT_RATE_TAKE] = {
	    "WITH " RATE_NOW("$2") " " RATE_TAKE("$1", "$3", "$4", "$5", "")
	    " RETURNING " RATE_ANSWER("$3", "$4", "(SELECT now FROM n)"),
	    5, 0 },
	/* The lookup hash comes from PostgreSQL, under the pepper of the
	 * same snapshot, as deploy/sigil-rotate-pepper computes it. */
	[STMT_BIND] = {
	    "INSERT INTO bindings (medium, address, mxid, ts, not_before,"
	    " not_after, lookup_hash, signature, signed_by)"
	    " SELECT $1, $2, $3, $4, $4, $5,"
	    " sigil_lookup_hash($2, $1, p.pepper), $6, $7 FROM lookup_pepper p"
	    " ON CONFLICT (medium, address) DO UPDATE SET mxid = EXCLUDED.mxid,"
	    " ts = EXCLUDED.ts, not_before = EXCLUDED.not_before,"
	    " not_after = EXCLUDED.not_after,"
	    " lookup_hash = EXCLUDED.lookup_hash,"
	    " signature = EXCLUDED.signature, signed_by = EXCLUDED.signed_by",
	    7, 0 },
	[STMT_BINDING_GET] = {
	    "SELECT mxid, ts, not_before, not_after, coalesce(signature, ''),"
	    " coalesce(signed_by, 0) FROM bindings"
	    " WHERE medium = $1 AND address = $2",
	    2, STMT_READ_ONLY },
	/* The number signing_keys gives this key, registering it if new.
	 * The second SELECT finds a row the INSERT left alone (it cannot see
	 * the INSERT's own row, hence both). */
	[STMT_SIGNING_KEY_REF] = {
	    "WITH ins AS (INSERT INTO signing_keys (key_id, public_key,"
	    " first_used_ts) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
	    " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM"
	    " signing_keys WHERE key_id = $1 AND public_key = $2",
	    3, 0 },
	[STMT_UNBIND] = {
	    "DELETE FROM bindings WHERE medium = $1 AND address = $2"
	    " AND mxid = $3",
	    3, 0 },
	[STMT_PEPPER] = {
	    "SELECT pepper FROM lookup_pepper",
	    0, STMT_READ_ONLY },
	/* The v2 gate and the pepper (hash_details) in one round trip. */
	[STMT_PEPPER_AUTH] = {
	    AUTH_CTE "SELECT auth.user_id, auth.agreed, p.pepper"
	    " FROM auth CROSS JOIN lookup_pepper p",
	    3, STMT_READ_ONLY },
	/* Many (medium, address) pairs in one query; x.i says which. */
	[STMT_LOOKUP_PAIRS] = {
	    "SELECT NULL, x.i, b.mxid FROM unnest($1::text[], $2::text[])"
	    " WITH ORDINALITY AS x(m, a, i)"
	    " JOIN bindings b ON b.medium = x.m AND b.address = x.a",
	    2, STMT_READ_ONLY },
	/* The same, only when $3 is the current pepper: the pepper and the
	 * bindings come from one snapshot, so a rotation cannot fall
	 * between them.  There is always a row, with the pepper. */
	[STMT_LOOKUP_PAIRS_PEPPER] = {
	    "SELECT p.pepper, x.i, x.mxid FROM lookup_pepper p LEFT JOIN"
	    " (SELECT y.i, b.mxid FROM unnest($1::text[], $2::text[])"
	    " WITH ORDINALITY AS y(m, a, i)"
	    " JOIN bindings b ON b.medium = y.m AND b.address = y.a) x"
	    " ON p.pepper = $3",
	    3, STMT_READ_ONLY },
	[STMT_LOOKUP_HASHES] = {
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
	[STMT_LOOKUP_PAIRS_AUTH] = {
	    AUTH_CTE "SELECT auth.user_id, auth.agreed, p.pepper, x.i, x.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN"
	    " (SELECT y.i, b.mxid FROM unnest($5::text[], $6::text[])"
	    " WITH ORDINALITY AS y(m, a, i)"
	    " JOIN bindings b ON b.medium = y.m AND b.address = y.a) x"
	    " ON p.pepper = $7 AND auth.agreed >= $4",
	    7, STMT_READ_ONLY },
	[STMT_LOOKUP_HASHES_AUTH] = {
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
	[STMT_LOOKUP_HASH_ONE_AUTH] = {
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
	[STMT_LOOKUP_PAIRS_LIMIT] = {
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
	[STMT_LOOKUP_HASHES_LIMIT] = {
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
	[STMT_LOOKUP_HASH_ONE_LIMIT] = {
	    AUTH_CTE ", " LOOKUP_LIMIT("$6", "$7", "$8", "$9", "$10")
	    "SELECT auth.user_id, auth.agreed, rl.granted, rl.retry,"
	    " rl.lease, p.pepper,"
	    " CASE WHEN b.mxid IS NULL THEN NULL ELSE 1 END, b.mxid"
	    " FROM auth CROSS JOIN lookup_pepper p LEFT JOIN rl ON true"
	    " LEFT JOIN bindings b ON b.lookup_hash = $5 AND p.pepper = $6"
	    " AND auth.agreed >= $4 AND coalesce(rl.granted > 0, true)",
	    10, STMT_READ_ONLY },
	[STMT_EPHEMERAL_KEY_INSERT] = {
	    "INSERT INTO ephemeral_public_keys (public_key, created_ts,"
	    " expires_ts) VALUES ($1, $2, $3)",
	    3, 0 },
	[STMT_INVITE_INSERT] = {
	    "INSERT INTO invites (token, medium, address, room_id, sender,"
	    " ephemeral_public_key, created_ts, expires_ts)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	    8, 0 },
	[STMT_INVITE_GET] = {
	    "SELECT sender, coalesce(ephemeral_public_key, '') FROM invites"
	    " WHERE token = $1 AND expires_ts > $2",
	    2, STMT_READ_ONLY },
	/* In bind's transaction: the invites a delivery will carry, locked
	 * so that two binds of one address cannot both take them. */
	[STMT_INVITES_PENDING] = {
	    "SELECT token, room_id, sender FROM invites"
	    " WHERE medium = $1 AND address = $2 AND outbox_id IS NULL"
	    " AND delivered_ts IS NULL AND expires_ts > $3"
	    " ORDER BY created_ts, token FOR UPDATE",
	    3, 0 },
	/* The NOTIFY reaches sigil-notify when the transaction commits. */
	[STMT_OUTBOX_INSERT] = {
	    "INSERT INTO onbind_outbox (destination, body, created_ts,"
	    " next_attempt_ts) VALUES ($1, $2, $3, $3)"
	    " RETURNING id, pg_notify('" DB_ONBIND_CHANNEL "', '')",
	    3, 0 },
	[STMT_INVITES_ATTACH] = {
	    "UPDATE invites SET outbox_id = $1 WHERE token = ANY($2::text[])",
	    2, 0 },
	/* One due delivery, locked for as long as it is being delivered;
	 * rows other sigil-notify processes hold are skipped. */
	[STMT_OUTBOX_NEXT] = {
	    "SELECT id, destination, body, attempts FROM onbind_outbox"
	    " WHERE next_attempt_ts <= $1 ORDER BY next_attempt_ts, id"
	    " LIMIT 1 FOR UPDATE SKIP LOCKED",
	    1, 0 },
	[STMT_OUTBOX_NEXT_DUE] = {
	    "SELECT coalesce(min(next_attempt_ts), 0), count(*)"
	    " FROM onbind_outbox",
	    0, STMT_READ_ONLY },
	[STMT_OUTBOX_RETRY] = {
	    "UPDATE onbind_outbox SET attempts = attempts + 1,"
	    " next_attempt_ts = $2, last_error = $3 WHERE id = $1",
	    3, 0 },
	[STMT_OUTBOX_DELETE] = {
	    "DELETE FROM onbind_outbox WHERE id = $1",
	    1, 0 },
	[STMT_INVITES_DELIVERED] = {
	    "UPDATE invites SET delivered_ts = $2 WHERE outbox_id = $1",
	    2, 0 },
	[STMT_INVITES_DELETE_DELIVERED] = {
	    "DELETE FROM invites WHERE outbox_id = $1",
	    1, 0 },
};

struct db {
	char	*conninfo;	/* owned */
	int	 listen;	/* LISTEN on DB_ONBIND_CHANNEL at connect */
	char	*app_name;	/* owned; pg_stat_activity's application_name */
	PGconn	*conn;		/* NULL until connected */
	int	 prepared;	/* statements prepared on conn */
	int	 was_ready;	/* a connection was made before */
};

/*
 * A process that serves one request (CGI) prepares nothing: each of its
 * few statements goes as one PQexecParams, which costs the same round
 * trip as executing a prepared one, instead of preparing every statement
 * of the table first.
 */
static int	 one_shot;

/* From now on, this process's connections prepare no statements. */
void
db_one_shot(void)
{
	one_shot = 1;
}

static void
db_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;		/* NOTICEs are not worth a log line */
}

static void
db_disconnect(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->prepared = 0;
}

static int
db_prepare_all(struct db *db)
{
	PGresult	*res;
	char		 name[16];
	int		 i, ok;

	for (i = 0; i < STMT__MAX; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		res = PQprepare(db->conn, name, stmts[i].sql, stmts[i].nparams,
		    NULL);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			log_err("database: cannot prepare statement %d: %s", i,
			    PQresultErrorMessage(res));
		PQclear(res);
		if (!ok)
			return -1;
	}
	db->prepared = 1;
	return 0;
}

/* Runs statement s; returns the result (caller PQclears) or NULL. */
static PGresult *
db_exec_once(struct db *db, enum stmt s, const char *const *params)
{
	char	 name[16];

	if (one_shot)
		return PQexecParams(db->conn, stmts[s].sql, stmts[s].nparams,
		    NULL, params, NULL, NULL, 0);
	snprintf(name, sizeof(name), "s%d", (int)s);
	return PQexecPrepared(db->conn, name, stmts[s].nparams, params, NULL,
	    NULL, 0);
}

static int
db_result_ok(const PGresult *res)
{
	ExecStatusType	 st = PQresultStatus(res);

	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/*
 * Runs statement s with text parameters.  Returns a result with a good
 * status (caller PQclears), or NULL after logging, with *conflict set
 * when the failure was a unique violation.
 */
static PGresult *
db_exec(struct db *db, enum stmt s, const char *const *params, int *conflict)
{
	PGresult	*res;
	const char	*state;

	if (conflict != NULL)
		*conflict = 0;
	if (db_ready(db) != DB_READY)
		return NULL;
	res = db_exec_once(db, s, params);
	if (!db_result_ok(res) && PQstatus(db->conn) == CONNECTION_BAD &&
	    (stmts[s].flags & STMT_READ_ONLY)) {
		PQclear(res);
		log_warn("database: connection lost; reconnecting");
		db_disconnect(db);
		if (db_ready(db) != DB_READY)
			return NULL;
		res = db_exec_once(db, s, params);
	}
	if (db_result_ok(res))
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (conflict != NULL && state != NULL && strcmp(state, "23505") == 0)
		*conflict = 1;
	else {
		metrics_count(METRICS_DB_ERROR);
		log_err("database: statement %d failed (%s): %s", (int)s,
		    state == NULL ? "no SQLSTATE" : state,
		    db->conn == NULL ? "no connection" :
		    PQerrorMessage(db->conn));
	}
	PQclear(res);
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_BAD)
		db_disconnect(db);
	return NULL;
}

/* Runs a statement whose rows do not matter: DB_OK or DB_ERROR. */
static enum db_res
db_run(struct db *db, enum stmt st, const char *const *params)
{
	PGresult	*res;

	if ((res = db_exec(db, st, params, NULL)) == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
}

/*
 * Returns a handle for the database at conninfo (a libpq connection
 * string or URI, multi-host and target_session_attrs included; copied),
 * not yet connected: db_ready() connects, as application app_name unless
 * conninfo names one.  Never NULL.
 */
struct db *
db_open(const char *conninfo, const char *app_name)
{
	struct db	*db;

	db = xcalloc(1, sizeof(*db));
	db->conninfo = xstrdup(conninfo);
	db->app_name = xstrdup(app_name);
	return db;
}

/*
 * Makes sure the connection is up, the schema is the one this build
 * expects, and every statement is prepared.  Called before each use.
 */
enum db_ready_res
db_ready(struct db *db)
{
	PGresult	*res;
	long		 version;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK &&
	    db->prepared)
		return DB_READY;
	db_disconnect(db);
	{
		const char *const keys[] = { "dbname",
		    "fallback_application_name", NULL };
		const char *const values[] = { db->conninfo, db->app_name,
		    NULL };

		db->conn = PQconnectdbParams(keys, values, 1);
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_err("database: cannot connect: %s",
		    PQerrorMessage(db->conn));
		db_disconnect(db);
		metrics_count(METRICS_DB_ERROR);
		return DB_DOWN;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	res = PQexec(db->conn, stmts[STMT_SCHEMA_VERSION].sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_err("database: cannot read the schema version (%s); "
		    "run deploy/sigil-migrate", PQresultErrorMessage(res));
		PQclear(res);
		db_disconnect(db);
		metrics_count(METRICS_DB_ERROR);
		return DB_SCHEMA_MISMATCH;
	}
	version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (version != SIGIL_SCHEMA_VERSION) {
		log_err("database: schema version is %ld, this build needs %d; "
		    "run deploy/sigil-migrate", version, SIGIL_SCHEMA_VERSION);
		db_disconnect(db);
		metrics_count(METRICS_DB_ERROR);
		return DB_SCHEMA_MISMATCH;
	}
	if (one_shot)
		db->prepared = 1;
	else if (db_prepare_all(db) == -1) {
		db_disconnect(db);
		metrics_count(METRICS_DB_ERROR);
		return DB_DOWN;
	}
	if (db->listen) {
		res = PQexec(db->conn, "LISTEN " DB_ONBIND_CHANNEL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_err("database: LISTEN failed: %s",
			    PQresultErrorMessage(res));
			PQclear(res);
			db_disconnect(db);
			metrics_count(METRICS_DB_ERROR);
			return DB_DOWN;
		}
		PQclear(res);
	}
	if (db->was_ready)
		metrics_count(METRICS_DB_RECONNECT);
	db->was_ready = 1;
	return DB_READY;
}

/*
 * Called after every request: a transaction a handler left open is rolled
 * back and logged, so the next request starts clean.
 */
void
db_end_request(struct db *db)
{
	PGresult	*res;

	if (db == NULL || db->conn == NULL)
		return;
	if (PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	log_err("database: a request left a transaction open; rolling back");
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

/* Closes the connection and frees db; NULL is allowed. */
void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db->conninfo);
	free(db->app_name);
	free(db);
}

/*
 * Looks up an invite's ephemeral public key by its exact text.
 * Returns DB_OK when it exists and has not expired at now (ms),
 * DB_NOTFOUND, or DB_ERROR.
 */
enum db_res
db_ephemeral_key_exists(struct db *db, const char *public_key, int64_t now)
{
	char		 nowbuf[24];
	const char	*params[2] = { public_key, nowbuf };
	PGresult	*res;
	enum db_res	 rc;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_EPHEMERAL_KEY_EXISTS, params, NULL)) ==
	    NULL)
		return DB_ERROR;
	rc = PQntuples(res) > 0 ? DB_OK : DB_NOTFOUND;
	PQclear(res);
	return rc;
}

/* Appends items as a PostgreSQL text array literal, {"a","b\\"c"}. */
static void
db_text_array(struct buf *out, const char *const *items, size_t n)
{
	const char	*p;
	size_t		 i;

	buf_putc(out, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(out, ',');
		buf_putc(out, '"');
		for (p = items[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(out, '\\');
			buf_putc(out, *p);
		}
		buf_putc(out, '"');
	}
	buf_putc(out, '}');
}

/*
 * Runs statement s, which begins with AUTH_CTE: params[0..2] are filled
 * from auth here (and are not for the caller's use afterwards), any
 * further ones by the caller.  As db_exec().
 */
static PGresult *
db_exec_authed(struct db *db, enum stmt s, const struct db_auth_check *auth,
    const char **params)
{
	struct buf	 keys = { 0 };
	char		 nowbuf[24];
	PGresult	*res;

	db_text_array(&keys, auth->policy_keys, auth->npolicies);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)auth->now);
	params[0] = auth->token_hash;
	params[1] = buf_str(&keys);
	params[2] = nowbuf;
	res = db_exec(db, s, params, NULL);
	buf_free(&keys);
	params[1] = params[2] = NULL;	/* they pointed here */
	return res;
}

/*
 * The v2 gate's query: the account holding the token whose hash is
 * token_hash and that has not expired at now (ms).  On DB_OK *user_id is
 * the user (caller frees) and *agreed how many of the npolicies current
 * policy keys the user accepted.
 */
enum db_res
db_auth_lookup(struct db *db, const char *token_hash,
    const char *const *policy_keys, size_t npolicies, int64_t now,
    char **user_id, int64_t *agreed)
{
	struct db_auth_check	 auth = { token_hash, policy_keys, npolicies,
				    now, NULL, 0 };
	const char		*params[3];
	PGresult		*res;
	enum db_res		 rc = DB_NOTFOUND;

	if ((res = db_exec_authed(db, STMT_AUTH_LOOKUP, &auth, params)) ==
	    NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		*user_id = xstrdup(PQgetvalue(res, 0, 0));
		*agreed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/*
 * Records a token (by its hash) for user_id, creating the account when it
 * is new.  expires is in ms, or 0 for a token that does not expire.
 */
enum db_res
db_account_register(struct db *db, const char *token_hash,
    const char *user_id, int64_t now, int64_t expires)
{
	char		 nowbuf[24], expbuf[24];
	const char	*params[4];

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	snprintf(expbuf, sizeof(expbuf), "%lld", (long long)expires);
	params[0] = token_hash;
	params[1] = user_id;
	params[2] = nowbuf;
	params[3] = expires == 0 ? NULL : expbuf;
	return db_run(db, STMT_ACCOUNT_REGISTER, params);
}

/* Deletes the token whose hash is token_hash (logout). */
enum db_res
db_token_delete(struct db *db, const char *token_hash)
{
	const char	*params[1] = { token_hash };

	return db_run(db, STMT_TOKEN_DELETE, params);
}

/*
 * Records that user_id accepted the n policy keys, through the URLs at the
 * same index in urls; keys already accepted are left as they were.
 */
enum db_res
db_terms_accept(struct db *db, const char *user_id,
    const char *const *keys, const char *const *urls, size_t n, int64_t now)
{
	struct buf	 k = { 0 }, u = { 0 };
	char		 nowbuf[24];
	const char	*params[4];
	PGresult	*res;

	db_text_array(&k, keys, n);
	db_text_array(&u, urls, n);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	params[0] = user_id;
	params[1] = buf_str(&k);
	params[2] = buf_str(&u);
	params[3] = nowbuf;
	res = db_exec(db, STMT_TERMS_ACCEPT, params, NULL);
	buf_free(&k);
	buf_free(&u);
	if (res == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
}

/* Starts a transaction.  Returns DB_OK or DB_ERROR (logged). */
enum db_res
db_begin(struct db *db)
{
	PGresult	*res;
	int		 ok;

	if (db_ready(db) != DB_READY)
		return DB_ERROR;
	res = PQexec(db->conn, "BEGIN");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok) {
		metrics_count(METRICS_DB_ERROR);
		log_err("database: BEGIN failed: %s", PQerrorMessage(db->conn));
	}
	PQclear(res);
	return ok ? DB_OK : DB_ERROR;
}

/* Commits the transaction.  Returns DB_OK or DB_ERROR (logged). */
enum db_res
db_commit(struct db *db)
{
	PGresult	*res;
	int		 ok;

	if (db->conn == NULL)
		return DB_ERROR;
	res = PQexec(db->conn, "COMMIT");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok) {
		metrics_count(METRICS_DB_ERROR);
		log_err("database: COMMIT failed: %s",
		    PQerrorMessage(db->conn));
	}
	PQclear(res);
	return ok ? DB_OK : DB_ERROR;
}

/* Rolls the transaction back, if there is one. */
void
db_rollback(struct db *db)
{
	PGresult	*res;

	if (db->conn == NULL ||
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
}

static void
session_from_row(const PGresult *res, struct db_session *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->sid, sizeof(s->sid), "%s", PQgetvalue(res, 0, 0));
	snprintf(s->medium, sizeof(s->medium), "%s", PQgetvalue(res, 0, 1));
	s->address = xstrdup(PQgetvalue(res, 0, 2));
	snprintf(s->client_secret_hash, sizeof(s->client_secret_hash), "%s",
	    PQgetvalue(res, 0, 3));
	s->token = xstrdup(PQgetvalue(res, 0, 4));
	s->next_link = PQgetisnull(res, 0, 5) ? NULL :
	    xstrdup(PQgetvalue(res, 0, 5));
	s->send_attempt = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	s->failed_attempts = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	s->created_ts = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
	s->modified_ts = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
	s->validated_ts = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
}

/* Runs a statement returning at most one session row into *s. */
static enum db_res
session_query(struct db *db, enum stmt st, const char *const *params,
    struct db_session *s)
{
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	if ((res = db_exec(db, st, params, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		session_from_row(res, s);
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/*
 * In a transaction: locks the session of (medium, address, client secret
 * hash) and reads it into *s (caller clears it).  DB_NOTFOUND when none.
 */
enum db_res
db_session_lock(struct db *db, const char *medium, const char *address,
    const char *cs_hash, struct db_session *s)
{
	const char	*params[3] = { medium, address, cs_hash };

	return session_query(db, STMT_SESSION_LOCK, params, s);
}

/* In a transaction: locks the session sid and reads it into *s. */
enum db_res
db_session_lock_by_sid(struct db *db, const char *sid, struct db_session *s)
{
	const char	*params[1] = { sid };

	return session_query(db, STMT_SESSION_LOCK_BY_SID, params, s);
}

/* Reads the session sid into *s, without a lock. */
enum db_res
db_session_get(struct db *db, const char *sid, struct db_session *s)
{
	const char	*params[1] = { sid };

	return session_query(db, STMT_SESSION_GET, params, s);
}

/*
 * Inserts the session s unless one exists for its (medium, address,
 * client secret hash); either way the caller then locks it.
 */
enum db_res
db_session_insert(struct db *db, const struct db_session *s)
{
	char		 now[24];
	const char	*params[7];

	snprintf(now, sizeof(now), "%lld", (long long)s->created_ts);
	params[0] = s->sid;
	params[1] = s->medium;
	params[2] = s->address;
	params[3] = s->client_secret_hash;
	params[4] = s->token;
	params[5] = s->next_link;
	params[6] = now;
	return db_run(db, STMT_SESSION_INSERT, params);
}

static enum db_res
session_update(struct db *db, enum stmt st, const char *sid, int64_t v)
{
	char		 vbuf[24];
	const char	*params[2] = { sid, vbuf };
	PGresult	*res;

	snprintf(vbuf, sizeof(vbuf), "%lld", (long long)v);
	if ((res = db_exec(db, st, params, NULL)) == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
}

/* Deletes the session sid (expired or dead, before a fresh one). */
enum db_res
db_session_delete(struct db *db, const char *sid)
{
	const char	*params[1] = { sid };

	return db_run(db, STMT_SESSION_DELETE, params);
}

/* Records that send attempt attempt of session sid was sent. */
enum db_res
db_session_sent(struct db *db, const char *sid, int64_t attempt)
{
	return session_update(db, STMT_SESSION_SENT, sid, attempt);
}

/* Counts one wrong token against session sid. */
enum db_res
db_session_failed_attempt(struct db *db, const char *sid)
{
	const char	*params[1] = { sid };

	return db_run(db, STMT_SESSION_FAILED_ATTEMPT, params);
}

/* Marks session sid validated at now (ms), unless it already was. */
enum db_res
db_session_validated(struct db *db, const char *sid, int64_t now)
{
	return session_update(db, STMT_SESSION_VALIDATED, sid, now);
}

/* Frees what a session read owns; s is zeroed. */
void
db_session_clear(struct db_session *s)
{
	free(s->address);
	free(s->token);
	free(s->next_link);
	memset(s, 0, sizeof(*s));
}

/* Reads RATE_ANSWER's three columns from col on into rate. */
static void
rate_answer(const PGresult *res, int col, struct db_rate *rate)
{
	rate->granted = -1;
	rate->retry_after_ms = rate->lease_ms = 0;
	if (PQntuples(res) < 1 || PQgetisnull(res, 0, col))
		return;
	rate->granted = strtoll(PQgetvalue(res, 0, col), NULL, 10);
	rate->retry_after_ms = strtoll(PQgetvalue(res, 0, col + 1), NULL, 10);
	rate->lease_ms = strtoll(PQgetvalue(res, 0, col + 2), NULL, 10);
}

/*
 * Takes from the limit under bucket what rate asks (see struct db_rate),
 * and fills in its answer.  Returns DB_OK or DB_ERROR.
 */
enum db_res
db_rate_take(struct db *db, const char *bucket, struct db_rate *rate)
{
	char		 wbuf[24], lbuf[24], cbuf[24], vbuf[24];
	const char	*params[5] = { bucket, wbuf, lbuf, cbuf, vbuf };
	PGresult	*res;

	snprintf(wbuf, sizeof(wbuf), "%lld", (long long)rate->window_ms);
	snprintf(lbuf, sizeof(lbuf), "%lld", (long long)rate->limit);
	snprintf(cbuf, sizeof(cbuf), "%lld", (long long)rate->cost);
	snprintf(vbuf, sizeof(vbuf), "%lld", (long long)rate->want);
	if ((res = db_exec(db, STMT_RATE_TAKE, params, NULL)) == NULL)
		return DB_ERROR;
	rate_answer(res, 0, rate);
	PQclear(res);
	return rate->granted == -1 ? DB_ERROR : DB_OK;
}

/*
 * Binds medium/address to mxid at now (ms), valid until not_after (ms),
 * replacing any earlier binding of that 3PID.
 */
enum db_res
db_bind(struct db *db, const char *medium, const char *address,
    const char *mxid, int64_t now, int64_t not_after, const char *signature,
    int signed_by)
{
	char		 nowbuf[24], endbuf[24], bybuf[16];
	const char	*params[7] = { medium, address, mxid, nowbuf, endbuf,
			    signature, signed_by > 0 ? bybuf : NULL };

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	snprintf(endbuf, sizeof(endbuf), "%lld", (long long)not_after);
	snprintf(bybuf, sizeof(bybuf), "%d", signed_by);
	return db_run(db, STMT_BIND, params);
}

/*
 * The number signing_keys gives the key key_id with public key
 * public_b64, in *ref; registers the key on its first use.
 */
enum db_res
db_signing_key_ref(struct db *db, const char *key_id, const char *public_b64,
    int64_t now, int *ref)
{
	char		 nowbuf[24];
	const char	*params[3] = { key_id, public_b64, nowbuf };
	PGresult	*res;
	enum db_res	 rc = DB_ERROR;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_SIGNING_KEY_REF, params, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) >= 1) {
		*ref = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		rc = *ref > 0 ? DB_OK : DB_ERROR;
	}
	PQclear(res);
	return rc;
}

/* Removes the binding of medium/address to mxid, if there is one. */
enum db_res
db_unbind(struct db *db, const char *medium, const char *address,
    const char *mxid)
{
	const char	*params[3] = { medium, address, mxid };

	return db_run(db, STMT_UNBIND, params);
}

/* Reads the binding of medium/address into *b (caller clears it). */
enum db_res
db_binding_get(struct db *db, const char *medium, const char *address,
    struct db_binding *b)
{
	const char	*params[2] = { medium, address };
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	if ((res = db_exec(db, STMT_BINDING_GET, params, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		b->mxid = xstrdup(PQgetvalue(res, 0, 0));
		b->ts = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		b->not_before = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		b->not_after = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		b->signature = xstrdup(PQgetvalue(res, 0, 4));
		b->signed_by = (int)strtol(PQgetvalue(res, 0, 5), NULL, 10);
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/* Frees what a binding read owns. */
void
db_binding_clear(struct db_binding *b)
{
	free(b->mxid);
	free(b->signature);
	memset(b, 0, sizeof(*b));
}

/* The current lookup pepper, in *pepper (caller frees). */
enum db_res
db_pepper(struct db *db, char **pepper)
{
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	if ((res = db_exec(db, STMT_PEPPER, NULL, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		*pepper = xstrdup(PQgetvalue(res, 0, 0));
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/* Fills m from rows of (pepper or NULL, index or NULL, mxid or NULL). */
static void
matches_from(const PGresult *res, int col, struct db_matches *m)
{
	int	 i, rows = PQntuples(res);

	memset(m, 0, sizeof(*m));
	m->index = xreallocarray(NULL, (size_t)rows + 1, sizeof(*m->index));
	m->mxid = xreallocarray(NULL, (size_t)rows + 1, sizeof(*m->mxid));
	for (i = 0; i < rows; i++) {
		if (m->pepper == NULL && !PQgetisnull(res, i, col))
			m->pepper = xstrdup(PQgetvalue(res, i, col));
		if (PQgetisnull(res, i, col + 1))
			continue;
		m->index[m->n] = strtoll(PQgetvalue(res, i, col + 1), NULL,
		    10);
		m->mxid[m->n++] = xstrdup(PQgetvalue(res, i, col + 2));
	}
}

/*
 * Looks up n (medium, canonical address) pairs in one query.  With
 * pepper (v2 "none"), only when it is the current one: m->pepper is the
 * current pepper either way, and there are matches only when it equals
 * pepper.  Without (v1), m->pepper is NULL.
 */
enum db_res
db_lookup_pairs(struct db *db, const char *const *media,
    const char *const *addresses, size_t n, const char *pepper,
    struct db_matches *m)
{
	struct buf	 ma = { 0 }, aa = { 0 };
	const char	*params[3];
	PGresult	*res;

	db_text_array(&ma, media, n);
	db_text_array(&aa, addresses, n);
	params[0] = buf_str(&ma);
	params[1] = buf_str(&aa);
	params[2] = pepper;
	res = db_exec(db, pepper == NULL ? STMT_LOOKUP_PAIRS :
	    STMT_LOOKUP_PAIRS_PEPPER, params, NULL);
	buf_free(&ma);
	buf_free(&aa);
	if (res == NULL)
		return DB_ERROR;
	matches_from(res, 0, m);
	PQclear(res);
	return DB_OK;
}

/* As db_lookup_pairs with a pepper, for n sha256 lookup hashes. */
enum db_res
db_lookup_hashes(struct db *db, const char *const *hashes, size_t n,
    const char *pepper, struct db_matches *m)
{
	struct buf	 ha = { 0 };
	const char	*params[2];
	PGresult	*res;

	db_text_array(&ha, hashes, n);
	params[0] = buf_str(&ha);
	params[1] = pepper;
	res = db_exec(db, STMT_LOOKUP_HASHES, params, NULL);
	buf_free(&ha);
	if (res == NULL)
		return DB_ERROR;
	matches_from(res, 0, m);
	PQclear(res);
	return DB_OK;
}

/* Frees the matches. */
void
db_matches_clear(struct db_matches *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		free(m->mxid[i]);
	free(m->mxid);
	free(m->index);
	free(m->pepper);
	memset(m, 0, sizeof(*m));
}

/*
 * Stores an invite and its ephemeral public key; run inside a
 * transaction, so that a mail that cannot go out leaves neither.
 */
enum db_res
db_invite_insert(struct db *db, const struct db_invite *inv)
{
	char		 created[24], expires[24];
	const char	*key[3] = { inv->ephemeral_public_key, created, expires };
	const char	*params[8] = { inv->token, inv->medium, inv->address,
	    inv->room_id, inv->sender, inv->ephemeral_public_key, created,
	    expires };

	snprintf(created, sizeof(created), "%lld", (long long)inv->created_ts);
	snprintf(expires, sizeof(expires), "%lld", (long long)inv->expires_ts);
	if (db_run(db, STMT_EPHEMERAL_KEY_INSERT, key) != DB_OK)
		return DB_ERROR;
	return db_run(db, STMT_INVITE_INSERT, params);
}

/*
 * The pending (unexpired at now) invite with token: its sender and
 * ephemeral public key ("" for an invite imported from sydent), both
 * owned by the caller.
 */
enum db_res
db_invite_get(struct db *db, const char *token, int64_t now, char **sender,
    char **ephemeral_public_key)
{
	char		 nowbuf[24];
	const char	*params[2] = { token, nowbuf };
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_INVITE_GET, params, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		*sender = xstrdup(PQgetvalue(res, 0, 0));
		*ephemeral_public_key = xstrdup(PQgetvalue(res, 0, 1));
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/*
 * Inside bind's transaction: the invites of exactly (medium, address)
 * not yet attached to a delivery nor expired at now, locked.  DB_OK with
 * out->n 0 when there are none.
 */
enum db_res
db_invites_pending(struct db *db, const char *medium, const char *address,
    int64_t now, struct db_invites *out)
{
	char		 nowbuf[24];
	const char	*params[3] = { medium, address, nowbuf };
	PGresult	*res;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_INVITES_PENDING, params, NULL)) == NULL)
		return DB_ERROR;
	out->n = (size_t)PQntuples(res);
	if (out->n > 0) {
		out->token = xcalloc(out->n, sizeof(*out->token));
		out->room_id = xcalloc(out->n, sizeof(*out->room_id));
		out->sender = xcalloc(out->n, sizeof(*out->sender));
	}
	for (i = 0; i < out->n; i++) {
		out->token[i] = xstrdup(PQgetvalue(res, (int)i, 0));
		out->room_id[i] = xstrdup(PQgetvalue(res, (int)i, 1));
		out->sender[i] = xstrdup(PQgetvalue(res, (int)i, 2));
	}
	PQclear(res);
	return DB_OK;
}

void
db_invites_clear(struct db_invites *inv)
{
	size_t	 i;

	for (i = 0; i < inv->n; i++) {
		free(inv->token[i]);
		free(inv->room_id[i]);
		free(inv->sender[i]);
	}
	free(inv->token);
	free(inv->room_id);
	free(inv->sender);
	memset(inv, 0, sizeof(*inv));
}

/*
 * Inside bind's transaction: queues body for destination's onbind, with
 * the n invites (by token; none when n is 0) attached to it, and wakes
 * sigil-notify at commit.
 */
enum db_res
db_outbox_queue(struct db *db, const char *destination, const char *body,
    int64_t now, const char *const *tokens, size_t n)
{
	struct buf	 arr = { 0 };
	char		 nowbuf[24], *id;
	const char	*params[3] = { destination, body, nowbuf };
	const char	*attach[2];
	PGresult	*res;
	enum db_res	 rc;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_OUTBOX_INSERT, params, NULL)) == NULL)
		return DB_ERROR;
	if (n == 0) {
		PQclear(res);
		return DB_OK;
	}
	id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	db_text_array(&arr, tokens, n);
	attach[0] = id;
	attach[1] = buf_str(&arr);
	rc = db_run(db, STMT_INVITES_ATTACH, attach);
	buf_free(&arr);
	free(id);
	return rc;
}

/* sigil-notify: LISTEN for queued deliveries on every connection. */
void
db_listen(struct db *db)
{
	db->listen = 1;
}

/*
 * Waits up to timeout_ms for a notification on the LISTEN connection, or
 * for wake_fd (-1: none) to become readable.  Returns 1 when a
 * notification came (all pending ones are consumed), 0 on timeout, wake
 * or a signal, -1 when the connection is gone (db_ready() reconnects).
 */
int
db_wait(struct db *db, int timeout_ms, int wake_fd)
{
	struct pollfd	 pfd[2];
	PGnotify	*n;
	int		 got = 0;

	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK ||
	    PQsocket(db->conn) < 0)
		return -1;
	pfd[0].fd = PQsocket(db->conn);
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = wake_fd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	if (poll(pfd, wake_fd >= 0 ? 2 : 1, timeout_ms) <= 0 ||
	    !(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	if (PQconsumeInput(db->conn) == 0) {
		log_warn("database: connection lost while waiting: %s",
		    PQerrorMessage(db->conn));
		db_disconnect(db);
		return -1;
	}
	while ((n = PQnotifies(db->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/*
 * Inside a transaction: takes the next delivery due at now that no other
 * process holds, and keeps it locked until commit or rollback.
 */
enum db_res
db_outbox_next(struct db *db, int64_t now, struct db_outbox *o)
{
	char		 nowbuf[24];
	const char	*params[1] = { nowbuf };
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	memset(o, 0, sizeof(*o));
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_OUTBOX_NEXT, params, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		o->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		o->destination = xstrdup(PQgetvalue(res, 0, 1));
		o->body = xstrdup(PQgetvalue(res, 0, 2));
		o->attempts = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

void
db_outbox_clear(struct db_outbox *o)
{
	free(o->destination);
	free(o->body);
	memset(o, 0, sizeof(*o));
}

/*
 * When the next delivery falls due: *due in ms (0 with *queued 0 when
 * nothing is queued).
 */
enum db_res
db_outbox_next_due(struct db *db, int64_t *due, int64_t *queued)
{
	PGresult	*res;

	if ((res = db_exec(db, STMT_OUTBOX_NEXT_DUE, NULL, NULL)) == NULL)
		return DB_ERROR;
	*due = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*queued = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return DB_OK;
}

/* A failed attempt: try again at next_ts; why goes to last_error. */
enum db_res
db_outbox_retry(struct db *db, int64_t id, int64_t next_ts, const char *why)
{
	char		 idbuf[24], nextbuf[24];
	const char	*params[3] = { idbuf, nextbuf, why };

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(nextbuf, sizeof(nextbuf), "%lld", (long long)next_ts);
	return db_run(db, STMT_OUTBOX_RETRY, params);
}

/*
 * Delivered: the invites it carried are marked delivered at now, or
 * deleted when delete_invites, and the row goes.
 */
enum db_res
db_outbox_done(struct db *db, int64_t id, int64_t now, int delete_invites)
{
	char		 idbuf[24], nowbuf[24];
	const char	*params[2] = { idbuf, nowbuf };

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if (db_run(db, delete_invites ? STMT_INVITES_DELETE_DELIVERED :
	    STMT_INVITES_DELIVERED, params) != DB_OK)
		return DB_ERROR;
	return db_run(db, STMT_OUTBOX_DELETE, params);
}

/*
 * The v2 gate, a lookup and, unless rate is NULL or its limit 0, the
 * user's lookup limit in one round trip, for n pairs (media and
 * addresses not NULL) or n hashes: DB_NOTFOUND for an unknown or expired
 * token; else DB_OK with auth->user_id (caller frees) and auth->agreed
 * set, rate's answer filled in (granted -1 when the limit was not asked:
 * terms not accepted, another pepper), and m filled as db_lookup_pairs()
 * and db_lookup_hashes() fill it when the user accepted every policy and
 * the limit, if asked, granted the lookup (no matches otherwise).
 */
enum db_res
db_lookup_authed(struct db *db, struct db_auth_check *auth,
    struct db_rate *rate, const char *const *media, const char *const *items,
    size_t n, const char *pepper, struct db_matches *m)
{
	struct buf	 ma = { 0 }, ia = { 0 };
	char		 npol[24], wbuf[24], lbuf[24], cbuf[24], vbuf[24];
	const char	*params[11];
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;
	enum stmt	 st;
	int		 k, limited = rate != NULL && rate->limit > 0;

	snprintf(npol, sizeof(npol), "%zu", auth->npolicies);
	params[3] = npol;
	db_text_array(&ia, items, n);
	if (media != NULL) {
		db_text_array(&ma, media, n);
		params[4] = buf_str(&ma);
		params[5] = buf_str(&ia);
		params[6] = pepper;
		k = 7;
		st = limited ? STMT_LOOKUP_PAIRS_LIMIT : STMT_LOOKUP_PAIRS_AUTH;
	} else {
		params[4] = buf_str(&ia);
		params[5] = pepper;
		k = 6;
		st = n == 1 ? (limited ? STMT_LOOKUP_HASH_ONE_LIMIT :
		    STMT_LOOKUP_HASH_ONE_AUTH) : (limited ?
		    STMT_LOOKUP_HASHES_LIMIT : STMT_LOOKUP_HASHES_AUTH);
	}
	if (limited) {
		snprintf(wbuf, sizeof(wbuf), "%lld", (long long)rate->window_ms);
		snprintf(lbuf, sizeof(lbuf), "%lld", (long long)rate->limit);
		snprintf(cbuf, sizeof(cbuf), "%lld", (long long)rate->cost);
		snprintf(vbuf, sizeof(vbuf), "%lld", (long long)rate->want);
		params[k] = wbuf;
		params[k + 1] = lbuf;
		params[k + 2] = cbuf;
		params[k + 3] = vbuf;
	}
	if (media == NULL && n == 1)
		params[4] = items[0];
	res = db_exec_authed(db, st, auth, params);
	buf_free(&ma);
	buf_free(&ia);
	if (res == NULL)
		return DB_ERROR;
	memset(m, 0, sizeof(*m));
	if (rate != NULL) {
		rate->granted = -1;
		rate->retry_after_ms = rate->lease_ms = 0;
	}
	if (PQntuples(res) > 0) {
		auth->user_id = xstrdup(PQgetvalue(res, 0, 0));
		auth->agreed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		if (limited)
			rate_answer(res, 2, rate);
		matches_from(res, limited ? 5 : 2, m);
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/*
 * The v2 gate and the current pepper in one round trip: DB_NOTFOUND for
 * an unknown or expired token; else DB_OK with auth->user_id (caller
 * frees), auth->agreed and *pepper (caller frees) set.
 */
enum db_res
db_pepper_authed(struct db *db, struct db_auth_check *auth, char **pepper)
{
	const char	*params[3];
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	if ((res = db_exec_authed(db, STMT_PEPPER_AUTH, auth, params)) ==
	    NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1) {
		auth->user_id = xstrdup(PQgetvalue(res, 0, 0));
		auth->agreed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		*pepper = xstrdup(PQgetvalue(res, 0, 2));
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}
