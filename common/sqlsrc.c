/*
 * sigil-sync's SQL source: see sqlsrc.h.  Its own libpq connection, not
 * common/db's (another database, no prepared statements), in a read-only
 * transaction, so that a query with side effects is refused by the
 * server; one statement only (the extended protocol takes no more).
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "sqlsrc.h"

/* Copies libpq's message msg into err without its trailing newline. */
static void
say(char *err, size_t errlen, const char *what, const char *msg)
{
	size_t	 n;

	snprintf(err, errlen, "SQL source: %s: %s", what, msg);
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

/*
 * Runs the configured query and hands each row's first three columns
 * (NULL for an SQL NULL) to emit.  Returns 0 when every row was read and
 * taken, else -1 with why in err.
 */
int
sqlsrc_read(const struct cfg *cfg, sync_emit_fn emit, void *arg, char *err,
    size_t errlen)
{
	PGconn		*conn;
	PGresult	*res = NULL;
	const char	*v[3];
	int		 i, k, rows, rc = -1;

	if (cfg->sync_sql_conninfo == NULL) {
		snprintf(err, errlen, "SQL source: no sync_sql_conninfo");
		return -1;
	}
	conn = PQconnectdb(cfg->sync_sql_conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		say(err, errlen, "cannot connect", PQerrorMessage(conn));
		goto out;
	}
	res = PQexec(conn, "BEGIN READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		say(err, errlen, "BEGIN", PQerrorMessage(conn));
		goto out;
	}
	PQclear(res);
	res = PQexecParams(conn, cfg->sync_sql_query, 0, NULL, NULL, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		say(err, errlen, "sync_sql_query failed",
		    PQresultStatus(res) == PGRES_COMMAND_OK ?
		    "it returned no rows (not a query?)" :
		    PQerrorMessage(conn));
		goto out;
	}
	if (PQnfields(res) < 3) {
		snprintf(err, errlen, "SQL source: sync_sql_query returns %d "
		    "column(s); it must return medium, address and user ID",
		    PQnfields(res));
		goto out;
	}
	rows = PQntuples(res);
	for (i = 0; i < rows; i++) {
		for (k = 0; k < 3; k++)
			v[k] = PQgetisnull(res, i, k) ? NULL :
			    PQgetvalue(res, i, k);
		if (emit(arg, v[0], v[1], v[2]) != 0) {
			snprintf(err, errlen, "SQL source: stopped at row %d",
			    i + 1);
			goto out;
		}
	}
	rc = 0;
out:
	PQclear(res);
	PQfinish(conn);
	return rc;
}
