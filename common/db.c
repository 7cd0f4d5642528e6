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

#include "db.h"
#include "log.h"
#include "util.h"

enum stmt {
	STMT_SCHEMA_VERSION,
	STMT_EPHEMERAL_KEY_EXISTS,
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
