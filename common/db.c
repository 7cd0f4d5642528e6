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

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"
#include "log.h"
#include "util.h"

enum stmt {
	STMT_SCHEMA_VERSION,
	STMT_EPHEMERAL_KEY_EXISTS,
	STMT_AUTH_LOOKUP,
	STMT_ACCOUNT_REGISTER,
	STMT_TOKEN_DELETE,
	STMT_TERMS_ACCEPT,
	STMT__MAX
};

#define STMT_READ_ONLY	0x01	/* safe to run again after a reconnect */

static const struct {
	const char	*sql;
	int		 nparams;
	int		 flags;
} stmts[STMT__MAX] = {
	[STMT_SCHEMA_VERSION] = {
	    "SELECT coalesce(max(version), 0) FROM schema_migrations",
	    0, STMT_READ_ONLY },
	[STMT_EPHEMERAL_KEY_EXISTS] = {
	    "SELECT 1 FROM ephemeral_public_keys WHERE public_key = $1",
	    1, STMT_READ_ONLY },
	/* The v2 gate: one indexed query gives the user and how many of the
	 * current policies ($2) they accepted. */
	[STMT_AUTH_LOOKUP] = {
	    "SELECT t.user_id, (SELECT count(*) FROM accepted_terms a"
	    " WHERE a.user_id = t.user_id AND a.policy_key = ANY($2::text[]))"
	    " FROM account_tokens t WHERE t.token_hash = $1"
	    " AND (t.expires_ts IS NULL OR t.expires_ts > $3)",
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
};

struct db {
	char	*conninfo;	/* owned */
	PGconn	*conn;		/* NULL until connected */
	int	 prepared;	/* statements prepared on conn */
};

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
	else
		log_err("database: statement %d failed (%s): %s", (int)s,
		    state == NULL ? "no SQLSTATE" : state,
		    db->conn == NULL ? "no connection" :
		    PQerrorMessage(db->conn));
	PQclear(res);
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_BAD)
		db_disconnect(db);
	return NULL;
}

/*
 * Returns a handle for the database at conninfo (a libpq connection
 * string, copied), not yet connected: db_ready() connects.  Never NULL.
 */
struct db *
db_open(const char *conninfo)
{
	struct db	*db;

	db = xcalloc(1, sizeof(*db));
	db->conninfo = xstrdup(conninfo);
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
	db->conn = PQconnectdb(db->conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_err("database: cannot connect: %s",
		    PQerrorMessage(db->conn));
		db_disconnect(db);
		return DB_DOWN;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	res = PQexec(db->conn, stmts[STMT_SCHEMA_VERSION].sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_err("database: cannot read the schema version (%s); "
		    "run deploy/sigil-migrate", PQresultErrorMessage(res));
		PQclear(res);
		db_disconnect(db);
		return DB_SCHEMA_MISMATCH;
	}
	version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (version != SIGIL_SCHEMA_VERSION) {
		log_err("database: schema version is %ld, this build needs %d; "
		    "run deploy/sigil-migrate", version, SIGIL_SCHEMA_VERSION);
		db_disconnect(db);
		return DB_SCHEMA_MISMATCH;
	}
	if (db_prepare_all(db) == -1) {
		db_disconnect(db);
		return DB_DOWN;
	}
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
	free(db);
}

/*
 * Looks up an invite's ephemeral public key by its exact text.
 * Returns DB_OK when it exists, DB_NOTFOUND, or DB_ERROR.
 */
enum db_res
db_ephemeral_key_exists(struct db *db, const char *public_key)
{
	const char	*params[1] = { public_key };
	PGresult	*res;
	enum db_res	 rc;

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
	struct buf	 keys = { 0 };
	char		 nowbuf[24];
	const char	*params[3];
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;

	db_text_array(&keys, policy_keys, npolicies);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	params[0] = token_hash;
	params[1] = buf_str(&keys);
	params[2] = nowbuf;
	res = db_exec(db, STMT_AUTH_LOOKUP, params, NULL);
	buf_free(&keys);
	if (res == NULL)
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
	PGresult	*res;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	snprintf(expbuf, sizeof(expbuf), "%lld", (long long)expires);
	params[0] = token_hash;
	params[1] = user_id;
	params[2] = nowbuf;
	params[3] = expires == 0 ? NULL : expbuf;
	if ((res = db_exec(db, STMT_ACCOUNT_REGISTER, params, NULL)) == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
}

/* Deletes the token whose hash is token_hash (logout). */
enum db_res
db_token_delete(struct db *db, const char *token_hash)
{
	const char	*params[1] = { token_hash };
	PGresult	*res;

	if ((res = db_exec(db, STMT_TOKEN_DELETE, params, NULL)) == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
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
