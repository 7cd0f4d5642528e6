/*
 * The one check of a validated session.  Unknown sid and wrong client
 * secret are the same answer, so neither can be probed.
 */
#include <string.h>

#include "db.h"
#include "session.h"
#include "secret.h"
#include "util.h"

/*
 * Reads session sid into *s (caller clears it) and says whether secret
 * proves it and it is live and validated, in that order.
 */
enum session_res
session_validated(struct db *db, const char *sid, const char *secret,
    struct db_session *s)
{
	char		 cs_hash[SHA256_HEX_LEN + 1];
	enum db_res	 rc;

	sha256_hex(secret, strlen(secret), cs_hash);
	rc = db_session_get(db, sid, s);
	if (rc == DB_ERROR || rc == DB_CONFLICT)
		return SESSION_DB_ERROR;
	if (rc == DB_NOTFOUND || !ct_streq(s->client_secret_hash, cs_hash))
		return SESSION_UNKNOWN;
	if (s->modified_ts + SESSION_LIFETIME_MS < now_ms())
		return SESSION_EXPIRED;
	if (s->validated_ts == 0)
		return SESSION_NOT_VALIDATED;
	return SESSION_OK;
}

/* The Matrix error for a session that is not OK. */
enum mxerr
session_mxerr(enum session_res res)
{
	switch (res) {
	case SESSION_UNKNOWN:
		return MX_NO_VALID_SESSION;
	case SESSION_EXPIRED:
		return MX_SESSION_EXPIRED;
	case SESSION_NOT_VALIDATED:
		return MX_SESSION_NOT_VALIDATED;
	case SESSION_OK:
	case SESSION_DB_ERROR:
		break;
	}
	return MX_UNAVAILABLE;
}
