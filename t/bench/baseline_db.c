/*
 * The benchmark's baseline B: a FastCGI program doing what a lookup
 * cannot avoid, one prepared point SELECT on the bindings table per
 * request, and answering {} or {"mxid": ...}.  Like baseline A it uses
 * libfcgi and libpq directly, nothing of common/, and is not installed.
 * A request without a query string looks up the address given on the
 * command line; ?medium=M&address=A (URL-encoded, as a v1 lookup's) looks
 * up that one, and ?hash=H the binding of that lookup hash, so that a
 * row of random addresses or hashes has a baseline doing the same
 * random SELECT.
 *
 *   bench-baseline-db "<libpq connection string>" <medium> <address>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

/*
 * Copies the URL-decoded value of parameter name of the query string q
 * into out (outlen bytes).  Returns 1 when q has it, else 0.
 */
static int
query_param(const char *q, const char *name, char *out, size_t outlen)
{
	size_t		 nlen = strlen(name), o = 0;
	const char	*p;
	char		 hex[3] = { 0 };

	for (p = q; p != NULL && *p != '\0'; p = strchr(p, '&'), p = p ?
	    p + 1 : NULL) {
		if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
			continue;
		for (p += nlen + 1; *p != '\0' && *p != '&' && o + 1 < outlen;
		    p++) {
			if (*p == '%' && p[1] != '\0' && p[2] != '\0') {
				hex[0] = p[1];
				hex[1] = p[2];
				out[o++] = (char)strtol(hex, NULL, 16);
				p += 2;
			} else
				out[o++] = *p == '+' ? ' ' : *p;
		}
		out[o] = '\0';
		return 1;
	}
	return 0;
}

/* Prepares the two SELECTs on conn. */
static void
prepare(PGconn *conn)
{
	PQclear(PQprepare(conn, "q", "SELECT mxid FROM bindings"
	    " WHERE medium = $1 AND address = $2", 2, NULL));
	PQclear(PQprepare(conn, "h", "SELECT mxid FROM bindings"
	    " WHERE lookup_hash = $1", 1, NULL));
}

int
main(int argc, char *argv[])
{
	const char	*params[2], *q;
	char		 body[512], medium[32], address[512];
	const char	*stmt;
	FCGX_Request	 req;
	PGconn		*conn;
	PGresult	*res;
	int		 n;

	if (argc != 4)
		return 2;
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
		return 1;
	prepare(conn);
	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		q = FCGX_GetParam("QUERY_STRING", req.envp);
		stmt = "q";
		params[0] = argv[2];
		params[1] = argv[3];
		if (q != NULL && query_param(q, "hash", address,
		    sizeof(address))) {
			stmt = "h";
			params[0] = address;
		} else if (q != NULL && query_param(q, "medium", medium,
		    sizeof(medium)) && query_param(q, "address", address,
		    sizeof(address))) {
			params[0] = medium;
			params[1] = address;
		}
		/* Connected again after a restart of PostgreSQL (the bench's
		 * cold rows), as sigil's workers do. */
		if (PQstatus(conn) == CONNECTION_BAD) {
			PQreset(conn);
			prepare(conn);
		}
		res = PQexecPrepared(conn, stmt, stmt[0] == 'h' ? 1 : 2, params,
		    NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			snprintf(body, sizeof(body), "{\"mxid\":\"%s\"}",
			    PQgetvalue(res, 0, 0));
		else
			snprintf(body, sizeof(body), "{}");
		PQclear(res);
		n = (int)strlen(body);
		FCGX_FPrintF(req.out, "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %d\r\n\r\n", n);
		FCGX_PutStr(body, n, req.out);
		FCGX_Finish_r(&req);
	}
	PQfinish(conn);
	return 0;
}
