/*
 * The database: accounts and their tokens, the v2 gate's question, the
 * terms users accepted (sql/002, sql/004), and the sliding-window rate
 * limits every worker counts against (sql/009).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "dbint.h"
#include "log.h"
#include "util.h"

/* Accounts, tokens, terms. */

/*
 * The v2 gate's query: the account holding the token whose hash is
 * token_hash and that has not expired at now (ms).  On DB_OK *user_id is
 * the user (caller frees) and *agreed how many of the npolicies current
 * policy keys the user accepted.
 */
enum db_res
db_auth_lookup(struct db *db, const char *token_hash,
    const char *const *policy_keys, size_t npolicies, int64_t now,
    char **user_id, int64_t *agreed)
{
	struct db_auth_check	 auth = { token_hash, policy_keys, npolicies,
				    now, NULL, 0 };
	const char		*params[3];
	PGresult		*res;
	enum db_res		 rc;

	res = db_exec_authed(db, STMT_AUTH_LOOKUP, &auth, params);
	if ((rc = db_one_row(res)) != DB_OK)
		return rc;
	*user_id = xstrdup(PQgetvalue(res, 0, 0));
	*agreed = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return DB_OK;
}

/*
 * Records a token (by its hash) for user_id, creating the account when it
 * is new.  expires is in ms, or 0 for a token that does not expire.
 */
enum db_res
db_account_register(struct db *db, const char *token_hash,
    const char *user_id, int64_t now, int64_t expires)
{
	char		 nowbuf[24], expbuf[24];
	const char	*params[4];

	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	snprintf(expbuf, sizeof(expbuf), "%lld", (long long)expires);
	params[0] = token_hash;
	params[1] = user_id;
	params[2] = nowbuf;
	params[3] = expires == 0 ? NULL : expbuf;
	return db_run(db, STMT_ACCOUNT_REGISTER, params);
}

/* Deletes the token whose hash is token_hash (logout). */
enum db_res
db_token_delete(struct db *db, const char *token_hash)
{
	const char	*params[1] = { token_hash };

	return db_run(db, STMT_TOKEN_DELETE, params);
}

/*
 * Records that user_id accepted the n policy keys, through the URLs at the
 * same index in urls; keys already accepted are left as they were.
 */
enum db_res
db_terms_accept(struct db *db, const char *user_id,
    const char *const *keys, const char *const *urls, size_t n, int64_t now)
{
	struct buf	 k = { 0 }, u = { 0 };
	char		 nowbuf[24];
	const char	*params[4];
	PGresult	*res;

	db_text_array(&k, keys, n);
	db_text_array(&u, urls, n);
	snprintf(nowbuf, sizeof(nowbuf), "%lld", (long long)now);
	params[0] = user_id;
	params[1] = buf_str(&k);
	params[2] = buf_str(&u);
	params[3] = nowbuf;
	res = db_exec(db, STMT_TERMS_ACCEPT, params, NULL);
	buf_free(&k);
	buf_free(&u);
	if (res == NULL)
		return DB_ERROR;
	PQclear(res);
	return DB_OK;
}

/* Rate limits. */

/* Reads RATE_ANSWER's three columns from col on into rate. */
void
db_rate_answer(const PGresult *res, int col, struct db_rate *rate)
{
	rate->granted = -1;
	rate->retry_after_ms = rate->lease_ms = 0;
	if (PQntuples(res) < 1 || PQgetisnull(res, 0, col))
		return;
	rate->granted = strtoll(PQgetvalue(res, 0, col), NULL, 10);
	rate->retry_after_ms = strtoll(PQgetvalue(res, 0, col + 1), NULL, 10);
	rate->lease_ms = strtoll(PQgetvalue(res, 0, col + 2), NULL, 10);
}

/*
 * Takes from the limit under bucket what rate asks (see struct db_rate),
 * and fills in its answer.  Returns DB_OK or DB_ERROR.
 */
enum db_res
db_rate_take(struct db *db, const char *bucket, struct db_rate *rate)
{
	char		 wbuf[24], lbuf[24], cbuf[24], vbuf[24];
	const char	*params[5] = { bucket, wbuf, lbuf, cbuf, vbuf };
	PGresult	*res;

	snprintf(wbuf, sizeof(wbuf), "%lld", (long long)rate->window_ms);
	snprintf(lbuf, sizeof(lbuf), "%lld", (long long)rate->limit);
	snprintf(cbuf, sizeof(cbuf), "%lld", (long long)rate->cost);
	snprintf(vbuf, sizeof(vbuf), "%lld", (long long)rate->want);
	if ((res = db_exec(db, STMT_RATE_TAKE, params, NULL)) == NULL)
		return DB_ERROR;
	db_rate_answer(res, 0, rate);
	PQclear(res);
	return rate->granted == -1 ? DB_ERROR : DB_OK;
}
