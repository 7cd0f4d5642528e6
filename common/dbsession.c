/*
 * The database: validation sessions (sql/003_validation.sql).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "dbint.h"
#include "log.h"
#include "util.h"

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
	enum db_res	 rc;

	res = db_exec(db, st, params, NULL);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	session_from_row(res, s);
	PQclear(res);
	return DB_OK;
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

	snprintf(vbuf, sizeof(vbuf), "%lld", (long long)v);
	return db_run(db, st, params);
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
