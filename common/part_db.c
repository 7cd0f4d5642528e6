/*
 * The database part (common/app.h, common/part.h): what the shared code
 * calls of common/db.c.  A program names &app_db in its struct app, and
 * so links libpq; sigil-status does not.
 */
#include "app.h"
#include "db.h"
#include "ratelimit.h"
#include "secret.h"

/* CGI, one request per process: no prepared statements, no leases. */
static void
one_request(void)
{
	db_one_shot();
	ratelimit_no_leases();
}

const struct app_db_part app_db = {
	db_open, db_ready, db_listen, db_end_request, db_close, one_request,
	db_auth_lookup, db_signing_key_ref, sha256_hex, db_check,
	db_secrets_check,
};
