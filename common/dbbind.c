/*
 * The database: bindings, the keys that signed them, and lookups (by
 * address or by hash, alone or with the v2 gate and the lookup limit in
 * the same statement) under the lookup pepper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "dbint.h"
#include "log.h"
#include "util.h"

/* Bindings. */

/*
 * Binds medium/address to mxid at now (ms), valid until not_after (ms),
 * replacing any earlier binding of that 3PID; origin says who made it
 * ("user" or "sync", sql/012_binding_origin.sql).
 */
enum db_res
db_bind(struct db *db, const char *medium, const char *address,
    const char *mxid, int64_t now, int64_t not_after, const char *signature,
    int signed_by, const char *origin)
{
	char		 nowbuf[24], endbuf[24], bybuf[16];
	const char	*params[8] = { medium, address, mxid, nowbuf, endbuf,
			    signature, signed_by > 0 ? bybuf : NULL, origin };

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	snprintf(endbuf, sizeof(endbuf), "%lld", (long long)not_after);
	snprintf(bybuf, sizeof(bybuf), "%d", signed_by);
	return db_run(db, STMT_BIND_INSERT, params);
}

/*
 * The number signing_keys gives the key key_id with public key
 * public_b64, in *ref; registers the key on its first use.
 */
enum db_res
db_signing_key_ref(struct db *db, const char *key_id, const char *public_b64,
    int64_t now, int *ref)
{
	char		 nowbuf[24];
	const char	*params[3] = { key_id, public_b64, nowbuf };
	PGresult	*res;
	enum db_res	 rc = DB_ERROR;

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	if ((res = db_exec(db, STMT_SIGNING_KEY_REF, params, NULL)) == NULL)
		return DB_ERROR;
	if (PQntuples(res) >= 1) {
		*ref = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		rc = *ref > 0 ? DB_OK : DB_ERROR;
	}
	PQclear(res);
	return rc;
}

/* Removes the binding of medium/address to mxid, if there is one. */
enum db_res
db_unbind(struct db *db, const char *medium, const char *address,
    const char *mxid)
{
	const char	*params[3] = { medium, address, mxid };

	return db_run(db, STMT_UNBIND, params);
}

/*
 * Calls fn(arg, medium, address, mxid, origin) for every binding, in no
 * order; the strings are valid during the call only.  Stops at the first
 * call that returns non-zero.  Returns DB_OK, or DB_ERROR when the
 * bindings could not be read or fn stopped.
 */
enum db_res
db_bindings_each(struct db *db, int (*fn)(void *, const char *,
    const char *, const char *, const char *), void *arg)
{
	PGresult	*res;
	int		 i, rows;
	enum db_res	 rc = DB_OK;

	if ((res = db_exec(db, STMT_BINDINGS_ALL, NULL, NULL)) == NULL)
		return DB_ERROR;
	rows = PQntuples(res);
	for (i = 0; i < rows && rc == DB_OK; i++)
		if (fn(arg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3)) != 0)
			rc = DB_ERROR;
	PQclear(res);
	return rc;
}

/*
 * Removes the bindings sigil-sync made among the n (media[i],
 * addresses[i], mxids[i]), in one statement; a binding a user made since
 * stays.
 */
enum db_res
db_unbind_synced(struct db *db, const char *const *media,
    const char *const *addresses, const char *const *mxids, size_t n)
{
	struct buf	 ma = { 0 }, aa = { 0 }, xa = { 0 };
	const char	*params[3];
	enum db_res	 rc;

	db_text_array(&ma, media, n);
	db_text_array(&aa, addresses, n);
	db_text_array(&xa, mxids, n);
	params[0] = buf_str(&ma);
	params[1] = buf_str(&aa);
	params[2] = buf_str(&xa);
	rc = db_run(db, STMT_UNBIND_SYNCED, params);
	buf_free(&ma);
	buf_free(&aa);
	buf_free(&xa);
	return rc;
}

/*
 * Takes (take 1) or gives back (take 0) the lock that lets one sigil-sync
 * run at a time, held by this connection.  Returns DB_OK, DB_CONFLICT
 * when another connection holds it, or DB_ERROR.
 */
enum db_res
db_sync_lock(struct db *db, int take)
{
	PGresult	*res;
	enum db_res	 rc;

	res = db_exec(db, take ? STMT_SYNC_LOCK : STMT_SYNC_UNLOCK, NULL,
	    NULL);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc == DB_NOTFOUND ? DB_ERROR : rc;
	rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0 || !take ? DB_OK :
	    DB_CONFLICT;
	PQclear(res);
	return rc;
}

/* Reads the binding of medium/address into *b (caller clears it). */
enum db_res
db_binding_get(struct db *db, const char *medium, const char *address,
    struct db_binding *b)
{
	const char	*params[2] = { medium, address };
	PGresult	*res;
	enum db_res	 rc;

	res = db_exec(db, STMT_BINDING_GET, params, NULL);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	b->mxid = xstrdup(PQgetvalue(res, 0, 0));
	b->ts = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	b->not_before = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	b->not_after = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	b->signature = xstrdup(PQgetvalue(res, 0, 4));
	b->signed_by = (int)strtol(PQgetvalue(res, 0, 5), NULL, 10);
	PQclear(res);
	return DB_OK;
}

/* Frees what a binding read owns. */
void
db_binding_clear(struct db_binding *b)
{
	free(b->mxid);
	free(b->signature);
	memset(b, 0, sizeof(*b));
}

/* Lookups. */

/* The current lookup pepper, in *pepper (caller frees). */
enum db_res
db_pepper(struct db *db, char **pepper)
{
	PGresult	*res;
	enum db_res	 rc;

	res = db_exec(db, STMT_PEPPER, NULL, NULL);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	*pepper = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_OK;
}

/* Fills m from rows of (pepper or NULL, index or NULL, mxid or NULL). */
static void
matches_from(const PGresult *res, int col, struct db_matches *m)
{
	int	 i, rows = PQntuples(res);

	memset(m, 0, sizeof(*m));
	m->index = xreallocarray(NULL, (size_t)rows + 1, sizeof(*m->index));
	m->mxid = xreallocarray(NULL, (size_t)rows + 1, sizeof(*m->mxid));
	for (i = 0; i < rows; i++) {
		if (m->pepper == NULL && !PQgetisnull(res, i, col))
			m->pepper = xstrdup(PQgetvalue(res, i, col));
		if (PQgetisnull(res, i, col + 1))
			continue;
		m->index[m->n] = strtoll(PQgetvalue(res, i, col + 1), NULL,
		    10);
		m->mxid[m->n++] = xstrdup(PQgetvalue(res, i, col + 2));
	}
}

/* The matches of a plain lookup: m from res (NULL: the statement
 * failed, DB_ERROR), which is cleared. */
static enum db_res
matches_answer(PGresult *res, struct db_matches *m)
{
	if (res == NULL)
		return DB_ERROR;
	matches_from(res, 0, m);
	PQclear(res);
	return DB_OK;
}

/*
 * Looks up n (medium, canonical address) pairs in one query.  With
 * pepper (v2 "none"), only when it is the current one: m->pepper is the
 * current pepper either way, and there are matches only when it equals
 * pepper.  Without (v1), m->pepper is NULL.
 */
enum db_res
db_lookup_pairs(struct db *db, const char *const *media,
    const char *const *addresses, size_t n, const char *pepper,
    struct db_matches *m)
{
	struct buf	 ma = { 0 }, aa = { 0 };
	const char	*params[3];
	PGresult	*res;

	db_text_array(&ma, media, n);
	db_text_array(&aa, addresses, n);
	params[0] = buf_str(&ma);
	params[1] = buf_str(&aa);
	params[2] = pepper;
	res = db_exec(db, pepper == NULL ? STMT_LOOKUP_PAIRS :
	    STMT_LOOKUP_PAIRS_PEPPER, params, NULL);
	buf_free(&ma);
	buf_free(&aa);
	return matches_answer(res, m);
}

/* As db_lookup_pairs with a pepper, for n sha256 lookup hashes. */
enum db_res
db_lookup_hashes(struct db *db, const char *const *hashes, size_t n,
    const char *pepper, struct db_matches *m)
{
	struct buf	 ha = { 0 };
	const char	*params[2];
	PGresult	*res;

	db_text_array(&ha, hashes, n);
	params[0] = buf_str(&ha);
	params[1] = pepper;
	res = db_exec(db, STMT_LOOKUP_HASHES, params, NULL);
	buf_free(&ha);
	return matches_answer(res, m);
}

/* Frees the matches. */
void
db_matches_clear(struct db_matches *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		free(m->mxid[i]);
	free(m->mxid);
	free(m->index);
	free(m->pepper);
	memset(m, 0, sizeof(*m));
}

/*
 * The v2 gate, a lookup and, unless rate is NULL or its limit 0, the
 * user's lookup limit in one round trip, for n pairs (media and
 * addresses not NULL) or n hashes: DB_NOTFOUND for an unknown or expired
 * token; else DB_OK with auth->user_id (caller frees) and auth->agreed
 * set, rate's answer filled in (granted -1 when the limit was not asked:
 * terms not accepted, another pepper), and m filled as db_lookup_pairs()
 * and db_lookup_hashes() fill it when the user accepted every policy and
 * the limit, if asked, granted the lookup (no matches otherwise).
 */
enum db_res
db_lookup_authed(struct db *db, struct db_auth_check *auth,
    struct db_rate *rate, const char *const *media, const char *const *items,
    size_t n, const char *pepper, struct db_matches *m)
{
	struct buf	 ma = { 0 }, ia = { 0 };
	char		 npol[24], wbuf[24], lbuf[24], cbuf[24], vbuf[24];
	const char	*params[11];
	PGresult	*res;
	enum db_res	 rc = DB_NOTFOUND;
	enum stmt	 st;
	int		 k, limited = rate != NULL && rate->limit > 0;

	snprintf(npol, sizeof(npol), "%zu", auth->npolicies);
	params[3] = npol;
	db_text_array(&ia, items, n);
	if (media != NULL) {
		db_text_array(&ma, media, n);
		params[4] = buf_str(&ma);
		params[5] = buf_str(&ia);
		params[6] = pepper;
		k = 7;
		st = limited ? STMT_LOOKUP_PAIRS_LIMIT : STMT_LOOKUP_PAIRS_AUTH;
	} else {
		params[4] = buf_str(&ia);
		params[5] = pepper;
		k = 6;
		st = n == 1 ? (limited ? STMT_LOOKUP_HASH_ONE_LIMIT :
		    STMT_LOOKUP_HASH_ONE_AUTH) : (limited ?
		    STMT_LOOKUP_HASHES_LIMIT : STMT_LOOKUP_HASHES_AUTH);
	}
	if (limited) {
		snprintf(wbuf, sizeof(wbuf), "%lld", (long long)rate->window_ms);
		snprintf(lbuf, sizeof(lbuf), "%lld", (long long)rate->limit);
		snprintf(cbuf, sizeof(cbuf), "%lld", (long long)rate->cost);
		snprintf(vbuf, sizeof(vbuf), "%lld", (long long)rate->want);
		params[k] = wbuf;
		params[k + 1] = lbuf;
		params[k + 2] = cbuf;
		params[k + 3] = vbuf;
	}
	if (media == NULL && n == 1)
		params[4] = items[0];
	res = db_exec_authed(db, st, auth, params);
	buf_free(&ma);
	buf_free(&ia);
	if (res == NULL)
		return DB_ERROR;
	memset(m, 0, sizeof(*m));
	if (rate != NULL) {
		rate->granted = -1;
		rate->retry_after_ms = rate->lease_ms = 0;
	}
	if (PQntuples(res) > 0) {
		auth->user_id = xstrdup(PQgetvalue(res, 0, 0));
		auth->agreed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		if (limited)
			db_rate_answer(res, 2, rate);
		matches_from(res, limited ? 5 : 2, m);
		rc = DB_OK;
	}
	PQclear(res);
	return rc;
}

/*
 * The v2 gate and the current pepper in one round trip: DB_NOTFOUND for
 * an unknown or expired token; else DB_OK with auth->user_id (caller
 * frees), auth->agreed and *pepper (caller frees) set.
 */
enum db_res
db_pepper_authed(struct db *db, struct db_auth_check *auth, char **pepper)
{
	const char	*params[3];
	PGresult	*res;
	enum db_res	 rc;

	res = db_exec_authed(db, STMT_PEPPER_AUTH, auth, params);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	auth->user_id = xstrdup(PQgetvalue(res, 0, 0));
	auth->agreed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	*pepper = xstrdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	return DB_OK;
}
