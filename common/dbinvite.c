/*
 * The database: email invites and their ephemeral keys (sql/005), and
 * the onbind outbox sigil-notify delivers from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "dbint.h"
#include "log.h"
#include "util.h"

/* Invites. */

/*
 * Looks up an invite's ephemeral public key by its exact text.
 * Returns DB_OK when it exists and has not expired at now (ms),
 * DB_NOTFOUND, or DB_ERROR.
 */
enum db_res
db_ephemeral_key_exists(struct db *db, const char *public_key, int64_t now)
{
	char		 nowbuf[24];
	const char	*params[2] = { public_key, nowbuf };
	PGresult	*res;
	enum db_res	 rc;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_EPHEMERAL_KEY_EXISTS, params, NULL)) ==
	    NULL)
		return DB_ERROR;
	rc = PQntuples(res) > 0 ? DB_OK : DB_NOTFOUND;
	PQclear(res);
	return rc;
}

/*
 * Stores an invite and its ephemeral public key; run inside a
 * transaction, so that a mail that cannot go out leaves neither.
 */
enum db_res
db_invite_insert(struct db *db, const struct db_invite *inv)
{
	char		 created[24], expires[24];
	const char	*key[3] = { inv->ephemeral_public_key, created, expires };
	const char	*params[8] = { inv->token, inv->medium, inv->address,
	    inv->room_id, inv->sender, inv->ephemeral_public_key, created,
	    expires };

	snprintf(created, sizeof(created), "%lld", (long long)inv->created_ts);
	snprintf(expires, sizeof(expires), "%lld", (long long)inv->expires_ts);
	if (db_run(db, STMT_EPHEMERAL_KEY_INSERT, key) != DB_OK)
		return DB_ERROR;
	return db_run(db, STMT_INVITE_INSERT, params);
}

/*
 * The pending (unexpired at now) invite with token: its sender and
 * ephemeral public key ("" for an invite imported from sydent), both
 * owned by the caller.
 */
enum db_res
db_invite_get(struct db *db, const char *token, int64_t now, char **sender,
    char **ephemeral_public_key)
{
	char		 nowbuf[24];
	const char	*params[2] = { token, nowbuf };
	PGresult	*res;
	enum db_res	 rc;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	res = db_exec(db, STMT_INVITE_GET, params, NULL);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	*sender = xstrdup(PQgetvalue(res, 0, 0));
	*ephemeral_public_key = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return DB_OK;
}

/*
 * Inside bind's transaction: the invites of exactly (medium, address)
 * not yet attached to a delivery nor expired at now, locked.  DB_OK with
 * out->n 0 when there are none.
 */
enum db_res
db_invites_pending(struct db *db, const char *medium, const char *address,
    int64_t now, struct db_invites *out)
{
	char		 nowbuf[24];
	const char	*params[3] = { medium, address, nowbuf };
	PGresult	*res;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_INVITES_PENDING, params, NULL)) == NULL)
		return DB_ERROR;
	out->n = (size_t)PQntuples(res);
	if (out->n > 0) {
		out->token = xcalloc(out->n, sizeof(*out->token));
		out->room_id = xcalloc(out->n, sizeof(*out->room_id));
		out->sender = xcalloc(out->n, sizeof(*out->sender));
	}
	for (i = 0; i < out->n; i++) {
		out->token[i] = xstrdup(PQgetvalue(res, (int)i, 0));
		out->room_id[i] = xstrdup(PQgetvalue(res, (int)i, 1));
		out->sender[i] = xstrdup(PQgetvalue(res, (int)i, 2));
	}
	PQclear(res);
	return DB_OK;
}

void
db_invites_clear(struct db_invites *inv)
{
	size_t	 i;

	for (i = 0; i < inv->n; i++) {
		free(inv->token[i]);
		free(inv->room_id[i]);
		free(inv->sender[i]);
	}
	free(inv->token);
	free(inv->room_id);
	free(inv->sender);
	memset(inv, 0, sizeof(*inv));
}

/* The onbind outbox. */

/*
 * Inside bind's transaction: queues body for destination's onbind, with
 * the n invites (by token; none when n is 0) attached to it, and wakes
 * sigil-notify at commit.
 */
enum db_res
db_outbox_queue(struct db *db, const char *destination, const char *body,
    int64_t now, const char *const *tokens, size_t n)
{
	struct buf	 arr = { 0 };
	char		 nowbuf[24], *id;
	const char	*params[3] = { destination, body, nowbuf };
	const char	*attach[2];
	PGresult	*res;
	enum db_res	 rc;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_OUTBOX_INSERT, params, NULL)) == NULL)
		return DB_ERROR;
	if (n == 0) {
		PQclear(res);
		return DB_OK;
	}
	id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	db_text_array(&arr, tokens, n);
	attach[0] = id;
	attach[1] = buf_str(&arr);
	rc = db_run(db, STMT_INVITES_ATTACH, attach);
	buf_free(&arr);
	free(id);
	return rc;
}

/*
 * Inside a transaction: takes the next delivery due at now that no other
 * process holds, and keeps it locked until commit or rollback.
 */
enum db_res
db_outbox_next(struct db *db, int64_t now, struct db_outbox *o)
{
	char		 nowbuf[24];
	const char	*params[1] = { nowbuf };
	PGresult	*res;
	enum db_res	 rc;

	memset(o, 0, sizeof(*o));
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	res = db_exec(db, STMT_OUTBOX_NEXT, params, NULL);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	o->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	o->destination = xstrdup(PQgetvalue(res, 0, 1));
	o->body = xstrdup(PQgetvalue(res, 0, 2));
	o->attempts = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	o->last_error = xstrdup(PQgetvalue(res, 0, 4));
	PQclear(res);
	return DB_OK;
}

void
db_outbox_clear(struct db_outbox *o)
{
	free(o->destination);
	free(o->body);
	free(o->last_error);
	memset(o, 0, sizeof(*o));
}

/*
 * When the next delivery falls due: *due in ms (0 with *queued 0 when
 * nothing is queued).
 */
enum db_res
db_outbox_next_due(struct db *db, int64_t *due, int64_t *queued)
{
	PGresult	*res;

	if ((res = db_exec(db, STMT_OUTBOX_NEXT_DUE, NULL, NULL)) == NULL)
		return DB_ERROR;
	*due = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*queued = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return DB_OK;
}

/* A failed attempt: try again at next_ts; why goes to last_error. */
enum db_res
db_outbox_retry(struct db *db, int64_t id, int64_t next_ts, const char *why)
{
	char		 idbuf[24], nextbuf[24];
	const char	*params[3] = { idbuf, nextbuf, why };

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(nextbuf, sizeof(nextbuf), "%lld", (long long)next_ts);
	return db_run(db, STMT_OUTBOX_RETRY, params);
}

/*
 * Delivered: the invites it carried are marked delivered at now, or
 * deleted when delete_invites, and the row goes.
 */
enum db_res
db_outbox_done(struct db *db, int64_t id, int64_t now, int delete_invites)
{
	char		 idbuf[24], nowbuf[24];
	const char	*params[2] = { idbuf, nowbuf };

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if (db_run(db, delete_invites ? STMT_INVITES_DELETE_DELIVERED :
	    STMT_INVITES_DELIVERED, params) != DB_OK)
		return DB_ERROR;
	return db_run(db, STMT_OUTBOX_DELETE, params);
}
