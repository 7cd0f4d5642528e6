/*
 * PostgreSQL through libpq.  All SQL is in db_stmts[], indexed by enum stmt
 * and prepared as "s<index>" whenever a connection is made.  Connections
 * break when PostgreSQL restarts, and the worker carries on without a
 * restart of its own:
 * - before a statement is sent, a connection the server has closed
 *   (its FATAL and end of file wait unread on the socket) is found and
 *   replaced, statements prepared again: nothing was sent on it, so any
 *   statement, write or not, then runs on the new one (db_ready());
 * - a statement that fails because the connection broke after it was
 *   sent may have run: only one that is safe to run twice
 *   (STMT_READ_ONLY) runs again on a new connection, and only outside a
 *   transaction;
 * - inside a transaction (db_begin() to db_commit() or db_rollback()) a
 *   lost connection lost the transaction: every statement until its end
 *   fails, none runs on a new connection (where it would be outside the
 *   transaction).  BEGIN itself runs again, as it does nothing.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>

#include "buf.h"
#include "db.h"
#include "dbint.h"
#include "log.h"
#include "metrics.h"
#include "part.h"
#include "util.h"

PART_LINKED(PART_DB)

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

/*
 * Notices are not worth a log line.  But the FATAL that the server sends
 * an idle connection it is closing (a restart, pg_terminate_backend)
 * comes as one: it marks the connection as going (arg is its db).
 */
static void
db_notice(void *arg, const PGresult *res)
{
	struct db	*db = arg;
	const char	*sev;

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (sev != NULL && (strcmp(sev, "FATAL") == 0 ||
	    strcmp(sev, "PANIC") == 0))
		db->closing = 1;
}

void
db_disconnect(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	db->prepared = 0;
	db->closing = 0;
}

/*
 * Whether the connection, between statements, is still there.  A server
 * that ends a connection sends it a FATAL and closes it; both wait on
 * the socket, unread, until the next statement.  Reads and parses what
 * has come, without waiting (a FATAL reaches db_notice(); a notification
 * is kept for db_wait()).  Returns 0 when the connection is gone or
 * going: nothing sent on it from now on would run.
 */
static int
db_alive(struct db *db)
{
	struct pollfd	 pfd;

	if (PQstatus(db->conn) != CONNECTION_OK || db->closing ||
	    (pfd.fd = PQsocket(db->conn)) < 0)
		return 0;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 1;		/* nothing came (or EINTR): alive */
	if ((pfd.revents & (POLLHUP | POLLERR)) ||
	    PQconsumeInput(db->conn) == 0)
		return 0;
	(void)PQisBusy(db->conn);	/* parses what came */
	return PQstatus(db->conn) == CONNECTION_OK && !db->closing;
}

static int
db_prepare_all(struct db *db)
{
	PGresult	*res;
	char		 name[16];
	int		 i, ok;

	for (i = 0; i < STMT__MAX; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		res = PQprepare(db->conn, name, db_stmts[i].sql,
		    db_stmts[i].nparams, NULL);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		if (!ok)
			log_err("database: cannot prepare statement %s: %s",
			    db_stmts[i].name, PQresultErrorMessage(res));
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
		return PQexecParams(db->conn, db_stmts[s].sql, db_stmts[s].nparams,
		    NULL, params, NULL, NULL, 0);
	snprintf(name, sizeof(name), "s%d", (int)s);
	return PQexecPrepared(db->conn, name, db_stmts[s].nparams, params, NULL,
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
PGresult *
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
	    (db_stmts[s].flags & STMT_READ_ONLY) && !db->tx) {
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
		log_err("database: statement %s failed (%s): %s",
		    db_stmts[s].name,
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
enum db_res
db_run(struct db *db, enum stmt st, const char *const *params)
{
	PGresult	*res;

	if ((res = db_exec(db, st, params, NULL)) == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
}

/*
 * For a statement that answers at most one row: res, from db_exec() or
 * db_exec_authed() (NULL: the statement failed).  DB_OK when it has the
 * row, which the caller reads and then PQclears; else res is cleared and
 * the answer is DB_NOTFOUND or DB_ERROR.
 */
enum db_res
db_one_row(PGresult *res)
{
	if (res == NULL)
		return DB_ERROR;
	if (PQntuples(res) == 1)
		return DB_OK;
	PQclear(res);
	return DB_NOTFOUND;
}

/* The mode bits that make a secret file of the connection refused: a
 * password file with any group or other access (libpq ignores such a
 * file, with a warning on stderr, and the connection then fails for
 * want of a password), a client key others may use. */
#define PASSFILE_MODE_REFUSED	(S_IRWXG | S_IRWXO)
#define SSLKEY_MODE_REFUSED	(S_IWGRP | S_IRWXO)

/*
 * Checks the file at path, the connection's what ("password file",
 * ...), against the mode bits refused.  A file that does not exist is
 * no fault here (libpq skips a missing password file; a missing client
 * key fails the connection, which says so).  Returns 0, or -1 with why
 * in err (errlen bytes).
 */
static int
secret_file_check(const char *what, const char *path, mode_t refused,
    const char *fix, char *err, size_t errlen)
{
	struct stat	 st;

	if (stat(path, &st) == -1 || !(st.st_mode & refused))
		return 0;
	snprintf(err, errlen, "database: %s %s: other users can read or "
	    "change it (mode %03o): %s", what, path,
	    (unsigned)(st.st_mode & 0777), fix);
	return -1;
}

/*
 * Checks the secret files the connection string conninfo makes libpq
 * read: its password file (the passfile option, else $PGPASSFILE, else
 * ~/.pgpass, as libpq picks it; none when conninfo holds the password)
 * and its client key (sslkey), if named.  Such a file that other users
 * can read is refused at start rather than used: a password anyone on
 * the host can read is no longer secret, and libpq would ignore the
 * password file anyway and fail every connection with a less helpful
 * reason.  Returns 0, or -1 with why in err (errlen bytes).  A conninfo
 * libpq cannot parse passes here: connecting says what is wrong.
 */
int
db_secrets_check(const char *conninfo, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	const struct passwd	*pw;
	const char		*passfile = NULL, *password = NULL;
	const char		*sslkey = NULL, *home;
	char			 deflt[4096];
	int			 rc = 0;

	if ((opts = PQconninfoParse(conninfo, NULL)) == NULL)
		return 0;
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "passfile") == 0)
			passfile = o->val;
		else if (strcmp(o->keyword, "password") == 0)
			password = o->val;
		else if (strcmp(o->keyword, "sslkey") == 0)
			sslkey = o->val;
	}
	if (passfile == NULL && (passfile = getenv("PGPASSFILE")) != NULL &&
	    passfile[0] == '\0')
		passfile = NULL;
	if (passfile == NULL) {
		if ((home = getenv("HOME")) == NULL || home[0] == '\0')
			home = (pw = getpwuid(geteuid())) != NULL ?
			    pw->pw_dir : NULL;
		if (home != NULL && (size_t)snprintf(deflt, sizeof(deflt),
		    "%s/.pgpass", home) < sizeof(deflt))
			passfile = deflt;
	}
	if (password == NULL && passfile != NULL)
		rc = secret_file_check("password file", passfile,
		    PASSFILE_MODE_REFUSED, "chmod 600 (libpq reads no password "
		    "file with group or other access)", err, errlen);
	if (rc == 0 && sslkey != NULL)
		rc = secret_file_check("client key (sslkey)", sslkey,
		    SSLKEY_MODE_REFUSED, "chmod 600", err, errlen);
	PQconninfoFree(opts);
	return rc;
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

	if (db->conn != NULL && db->prepared) {
		if (db_alive(db))
			return DB_READY;
		if (!db->tx)
			log_info("database: the server closed the connection; "
			    "reconnecting");
	}
	if (db->tx) {
		/* The transaction went with its connection. */
		if (db->conn != NULL) {
			log_err("database: the server closed the connection "
			    "inside a transaction");
			metrics_count(METRICS_DB_ERROR);
		}
		db_disconnect(db);
		return DB_DOWN;
	}
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
	PQsetNoticeReceiver(db->conn, db_notice, db);
	res = PQexec(db->conn, db_stmts[STMT_SCHEMA_VERSION].sql);
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

	if (db == NULL)
		return;
	db->tx = 0;
	if (db->conn == NULL ||
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
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

/* Appends items as a PostgreSQL text array literal, {"a","b\\"c"}. */
void
db_text_array(struct buf *out, const char *const *items, size_t n)
{
	const char	*p, *run;
	size_t		 i;

	buf_putc(out, '{');
	for (i = 0; i < n; i++) {
		buf_append(out, i > 0 ? ",\"" : "\"", i > 0 ? 2 : 1);
		/* Copied in runs between the characters escaped: a list of
		 * 10,000 hashes is 470 KB. */
		for (run = p = items[i]; *p != '\0'; p++) {
			if (*p != '"' && *p != '\\')
				continue;
			buf_append(out, run, (size_t)(p - run));
			buf_putc(out, '\\');
			run = p;
		}
		buf_append(out, run, (size_t)(p - run));
		buf_putc(out, '"');
	}
	buf_putc(out, '}');
}

/*
 * Runs statement s, which begins with AUTH_CTE: params[0..2] are filled
 * from auth here (and are not for the caller's use afterwards), any
 * further ones by the caller.  As db_exec().
 */
PGresult *
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
 * Starts a transaction.  Returns DB_OK or DB_ERROR (logged).  A BEGIN
 * that fails on a broken connection runs again on a new one: it does
 * nothing of itself.
 */
enum db_res
db_begin(struct db *db)
{
	PGresult	*res;
	int		 ok;

	db->tx = 0;
	if (db_ready(db) != DB_READY)
		return DB_ERROR;
	res = PQexec(db->conn, "BEGIN");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok && PQstatus(db->conn) == CONNECTION_BAD) {
		PQclear(res);
		log_warn("database: connection lost at BEGIN; reconnecting");
		db_disconnect(db);
		if (db_ready(db) != DB_READY)
			return DB_ERROR;
		res = PQexec(db->conn, "BEGIN");
		ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	}
	db->tx = ok;
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

	db->tx = 0;
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

	db->tx = 0;
	if (db->conn == NULL ||
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	res = PQexec(db->conn, "ROLLBACK");
	PQclear(res);
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
	/* db_ready() may have read some already. */
	while ((n = PQnotifies(db->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	if (got)
		return 1;
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
 * One round trip on db now, connecting first when needed (a health
 * check).  Returns DB_READY with *version the schema's, DB_DOWN, or
 * DB_SCHEMA_MISMATCH; *version is -1 when it could not be read.
 */
enum db_ready_res
db_check(struct db *db, long *version)
{
	enum db_ready_res	 rr;
	PGresult		*res;

	*version = -1;
	if ((rr = db_ready(db)) != DB_READY)
		return rr;
	if ((res = db_exec(db, STMT_SCHEMA_VERSION, NULL, NULL)) == NULL)
		return DB_DOWN;
	*version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return *version == SIGIL_SCHEMA_VERSION ? DB_READY : DB_SCHEMA_MISMATCH;
}
