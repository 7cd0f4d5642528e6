/*
 * The benchmark's baseline B: a FastCGI program doing what a lookup
 * cannot avoid, one prepared point SELECT on the bindings table per
 * request, and answering {} or {"mxid": ...}.  Like baseline A it uses
 * libfcgi and libpq directly, nothing of common/, and is not installed.
 *
 *   bench-baseline-db "<libpq connection string>" <medium> <address>
 */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>
#include <libpq-fe.h>

int
main(int argc, char *argv[])
{
	const char	*params[2];
	char		 body[512];
	FCGX_Request	 req;
	PGconn		*conn;
	PGresult	*res;
	int		 n;

	if (argc != 4)
		return 2;
	conn = PQconnectdb(argv[1]);
	if (PQstatus(conn) != CONNECTION_OK)
		return 1;
	res = PQprepare(conn, "q", "SELECT mxid FROM bindings WHERE medium = $1"
	    " AND address = $2", 2, NULL);
	PQclear(res);
	params[0] = argv[2];
	params[1] = argv[3];
	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		res = PQexecPrepared(conn, "q", 2, params, NULL, NULL, 0);
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
