/*
 * Reading a validation session the way bind, unbind and getValidated3pid
 * all need it: by sid, proved by its client secret, unexpired, validated.
 */
#ifndef SIGIL_SESSION_H
#define SIGIL_SESSION_H

#include "mxerr.h"

struct db;
struct db_session;

/* A session lives 24 h from its creation or validation (spec). */
#define SESSION_LIFETIME_MS	(24LL * 3600 * 1000)

enum session_res {
	SESSION_OK,
	SESSION_UNKNOWN,	/* no such sid, or another client secret */
	SESSION_EXPIRED,
	SESSION_NOT_VALIDATED,
	SESSION_DB_ERROR,
};

enum session_res session_validated(struct db *, const char *, const char *,
	    struct db_session *);
enum mxerr	 session_mxerr(enum session_res);

#endif /* !SIGIL_SESSION_H */
