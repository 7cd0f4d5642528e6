/*
 * sigil-validate: proving that someone controls an email address.
 *
 * POST validate/email/requestToken makes (or finds) the session of
 * (address, client_secret) and mails a link with a token, once per
 * send_attempt: a repeat of an attempt already sent answers the same sid
 * and sends nothing; the session row is locked while the mail goes out,
 * so identical concurrent requests make one session and one mail.  Rate
 * limits (per address, and per client IP on v1 or user on v2) are checked
 * before anything is sent.  A failed send keeps the session and does not
 * count the attempt.
 *
 * POST validate/email/submitToken checks the token; GET with the same
 * fields in the query is the link in the mail and answers an HTML page,
 * or a redirect to the next_link stored at requestToken.  After
 * max_token_attempts wrong tokens a session is dead.  GET
 * 3pid/getValidated3pid reports a validated session.
 *
 * Sessions live 24 h from creation or validation; a request for an
 * expired or dead session starts a fresh one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "email.h"
#include "fcgi.h"
#include "json.h"
#include "bounds.h"
#include "log.h"
#include "mail.h"
#include "req.h"
#include "resp.h"
#include "tmpl.h"
#include "util.h"

#define SESSION_LIFETIME_MS	(24LL * 3600 * 1000)
#define MAX_NEXT_LINK		2048
#define MAX_TOKEN		255
#define SID_LEN			32
#define EMAIL_TOKEN_LEN		32

/* What checking a submitted token came to. */
enum submit_res {
	SUBMIT_OK,
	SUBMIT_NO_SESSION,	/* unknown sid, other medium, wrong secret */
	SUBMIT_EXPIRED,
	SUBMIT_DEAD,		/* too many wrong tokens */
	SUBMIT_WRONG_TOKEN,
	SUBMIT_ERROR,		/* the database failed */
};

/* Returns 1 for 1-255 characters of [0-9a-zA-Z.=_-] (spec: sid, secret). */
static int
opaque_id_valid(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= MAX_OPAQUE_ID && strspn(s,
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    ".=_-") == n;
}

/*
 * Returns 1 when s is an absolute http(s) URL without control characters,
 * white space or user info, whose host is in next_link_hosts when that is
 * set.
 */
static int
next_link_valid(const struct cfg *cfg, const char *s)
{
	const char	*host, *end, *p;
	size_t		 hlen, i;

	if (strncasecmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	end = host + strcspn(host, "/?#");
	if (end == host || memchr(host, '@', (size_t)(end - host)) != NULL ||
	    memchr(host, '\\', (size_t)(end - host)) != NULL)
		return 0;
	if (cfg->n_next_link_hosts == 0)
		return 1;
	/* The host without a port (IPv6 literals keep their brackets). */
	hlen = (size_t)(end - host);
	if (host[0] == '[') {
		if ((p = memchr(host, ']', hlen)) == NULL)
			return 0;
		hlen = (size_t)(p + 1 - host);
	} else if ((p = memchr(host, ':', hlen)) != NULL)
		hlen = (size_t)(p - host);
	for (i = 0; i < cfg->n_next_link_hosts; i++)
		if (strlen(cfg->next_link_hosts[i]) == hlen &&
		    strncasecmp(cfg->next_link_hosts[i], host, hlen) == 0)
			return 1;
	return 0;
}

static int
session_expired(const struct db_session *s, int64_t now)
{
	return s->modified_ts + SESSION_LIFETIME_MS < now;
}

static int
session_dead(const struct ctx *c, const struct db_session *s)
{
	return s->failed_attempts >= c->cfg.max_token_attempts;
}

/*
 * Counts a request against one rate limit.  Returns 0 when within it, or
 * -1 with the error response set (429, or 503 when the database failed).
 */
static int
rate_check(struct ctx *c, const char *bucket, const struct cfg_rate *rate,
    struct resp *rs)
{
	int64_t	 count, retry;
	cJSON	*extra;

	if (rate->count == 0)
		return 0;
	if (db_rate_hit(c->db, bucket, rate->seconds * 1000, now_ms(), &count,
	    &retry) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return -1;
	}
	if (count <= rate->count)
		return 0;
	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "retry_after_ms", (double)retry);
	resp_err_with(rs, MX_LIMIT_EXCEEDED, extra, "Too many requests; try "
	    "again later");
	return -1;
}

/*
 * Builds the verification mail for session s into msg.  Returns 0 or -1.
 */
static int
build_mail(struct ctx *c, const struct req *r, const struct db_session *s,
    const char *client_secret, struct buf *msg)
{
	struct mail_ids	 ids;
	struct buf	 link = { 0 }, text = { 0 };
	const char	*brand = req_query(r, "brand");
	const char	*api = r->api == API_V1 ? "api/v1" : "v2";
	int		 rc = -1;

	if (mail_ids_make(c->cfg.server_name, &ids) == -1)
		goto out;
	buf_printf(&link, "%s/_matrix/identity/%s/validate/email/submitToken"
	    "?token=", c->cfg.public_base_url, api);
	buf_put_urlencoded(&link, s->token);
	buf_puts(&link, "&client_secret=");
	buf_put_urlencoded(&link, client_secret);
	buf_puts(&link, "&sid=");
	buf_put_urlencoded(&link, s->sid);
	{
		const struct tmpl_var vars[] = {
			{ "token", s->token },
			{ "link", buf_str(&link) },
			{ "ipaddress", r->remote_addr == NULL ? "" :
			    r->remote_addr },
			{ "to", s->address },
			{ "from", c->cfg.mail_from },
			{ "messageid", ids.messageid },
			{ "date", ids.date },
			{ "multipart_boundary", ids.boundary },
			{ "brand", brand == NULL ? c->cfg.default_brand :
			    brand },
		};

		if (tmpl_render(tmpl_get(&c->templates, brand,
		    TMPL_VERIFICATION_MAIL), vars, sizeof(vars) /
		    sizeof(vars[0]), &text) == -1 ||
		    mail_finish(buf_str(&text), msg) == -1) {
			log_err("the verification template did not render "
			    "to a message");
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&link);
	buf_free(&text);
	return rc;
}

/*
 * In a transaction: the live session of (medium, address, secret), made
 * when there is none and fresh when the old one expired or died.
 */
static enum db_res
session_open(struct ctx *c, const char *medium, const char *address,
    const char *cs_hash, const char *next_link, struct db_session *s)
{
	struct db_session	 fresh;
	enum db_res		 rc;
	int64_t			 now = now_ms();

	rc = db_session_lock(c->db, medium, address, cs_hash, s);
	if (rc == DB_OK && !session_expired(s, now) && !session_dead(c, s))
		return DB_OK;
	if (rc == DB_OK) {
		if (db_session_delete(c->db, s->sid) != DB_OK)
			return DB_ERROR;
		db_session_clear(s);
	} else if (rc != DB_NOTFOUND)
		return rc;
	memset(&fresh, 0, sizeof(fresh));
	if (random_token(fresh.sid, SID_LEN + 1) == -1)
		return DB_ERROR;
	snprintf(fresh.medium, sizeof(fresh.medium), "%s", medium);
	fresh.address = (char *)address;
	snprintf(fresh.client_secret_hash, sizeof(fresh.client_secret_hash),
	    "%s", cs_hash);
	fresh.token = xmalloc(EMAIL_TOKEN_LEN + 1);
	fresh.next_link = (char *)next_link;
	fresh.created_ts = now;
	rc = random_token(fresh.token, EMAIL_TOKEN_LEN + 1) == -1 ? DB_ERROR :
	    db_session_insert(c->db, &fresh);
	free(fresh.token);
	if (rc != DB_OK)
		return rc;
	return db_session_lock(c->db, medium, address, cs_hash, s);
}

static void
reply_sid(struct resp *rs, const char *sid)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "sid", sid);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

/* POST validate/email/requestToken. */
static void
h_email_request(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL;
	struct db_session	 s;
	struct buf		 msg = { 0 }, bucket = { 0 };
	const char		*secret, *email, *next_link = NULL;
	char			 address[3 * MAX_EMAIL + 1];
	char			 cs_hash[SHA256_HEX_LEN + 1];
	int64_t			 attempt;
	enum json_res		 jr;
	int			 in_txn = 0;

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, rs) == -1)
		goto out;
	if (req_field_ok(rs, json_get_str(args, "client_secret", 0, SIZE_MAX,
	    &secret), "client_secret") == -1)
		goto out;
	if (!opaque_id_valid(secret)) {
		resp_err(rs, MX_INVALID_PARAM, "client_secret must be 1 to 255 "
		    "of [0-9a-zA-Z.=_-]");
		goto out;
	}
	if ((jr = json_get_str(args, "email", 0, SIZE_MAX, &email)) ==
	    JSON_RANGE || jr == JSON_BADTYPE) {
		resp_err(rs, MX_INVALID_EMAIL, NULL);
		goto out;
	}
	if (req_field_ok(rs, jr, "email") == -1)
		goto out;
	if (email_canonical(email, address, sizeof(address)) == -1) {
		resp_err(rs, MX_INVALID_EMAIL, "Not a single bare email "
		    "address");
		goto out;
	}
	if (req_field_ok(rs, json_get_int_lenient(args, "send_attempt", 0,
	    JSON_INT_MAX, &attempt), "send_attempt") == -1)
		goto out;
	jr = json_get_str(args, "next_link", 1, MAX_NEXT_LINK, &next_link);
	if (jr == JSON_MISSING)
		next_link = NULL;
	else if (jr != JSON_OK || !next_link_valid(&c->cfg, next_link)) {
		resp_err(rs, MX_INVALID_PARAM, "next_link must be an http or "
		    "https URL%s", c->cfg.n_next_link_hosts > 0 ?
		    " on an allowed host" : "");
		goto out;
	}
	sha256_hex(secret, strlen(secret), cs_hash);

	if (db_begin(c->db) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	in_txn = 1;
	if (session_open(c, "email", address, cs_hash, next_link, &s) !=
	    DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	if (attempt <= s.send_attempt) {
		reply_sid(rs, s.sid);	/* already sent: send nothing */
		goto commit;
	}
	buf_printf(&bucket, "email:%s", address);
	if (rate_check(c, buf_str(&bucket), &c->cfg.ratelimit_address,
	    rs) == -1)
		goto commit;
	buf_reset(&bucket);
	if (r->api == API_V2)
		buf_printf(&bucket, "user:%s", r->user_id);
	else
		buf_printf(&bucket, "ip:%s", r->remote_addr == NULL ? "" :
		    r->remote_addr);
	if (rate_check(c, buf_str(&bucket), &c->cfg.ratelimit_requester,
	    rs) == -1)
		goto commit;
	if (build_mail(c, r, &s, secret, &msg) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto commit;
	}
	if (mail_send(s.address, &msg) == -1) {
		resp_err(rs, MX_EMAIL_SEND_ERROR, "The verification email "
		    "could not be sent; try again later");
		goto commit;
	}
	if (db_session_sent(c->db, s.sid, attempt) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	reply_sid(rs, s.sid);
commit:
	in_txn = 0;
	if (db_commit(c->db) != DB_OK)
		resp_err(rs, MX_UNAVAILABLE, NULL);
out:
	if (in_txn)
		db_rollback(c->db);
	db_session_clear(&s);
	buf_free(&msg);
	buf_free(&bucket);
	cJSON_Delete(args);
}

/*
 * Checks sid, client_secret and token against the session of medium and
 * marks it validated.  On SUBMIT_OK *s holds the session (caller clears).
 */
static enum submit_res
submit(struct ctx *c, const char *medium, const char *sid,
    const char *secret, const char *token, struct db_session *s)
{
	char		 cs_hash[SHA256_HEX_LEN + 1];
	enum db_res	 rc;
	enum submit_res	 res;
	int64_t		 now = now_ms();

	sha256_hex(secret, strlen(secret), cs_hash);
	if (db_begin(c->db) != DB_OK)
		return SUBMIT_ERROR;
	rc = db_session_lock_by_sid(c->db, sid, s);
	if (rc == DB_NOTFOUND || (rc == DB_OK &&
	    (strcmp(s->medium, medium) != 0 ||
	    !ct_streq(s->client_secret_hash, cs_hash))))
		res = SUBMIT_NO_SESSION;
	else if (rc != DB_OK)
		res = SUBMIT_ERROR;
	else if (session_expired(s, now))
		res = SUBMIT_EXPIRED;
	else if (session_dead(c, s))
		res = SUBMIT_DEAD;
	else if (!ct_streq(s->token, token))
		res = db_session_failed_attempt(c->db, s->sid) == DB_OK ?
		    SUBMIT_WRONG_TOKEN : SUBMIT_ERROR;
	else if (s->validated_ts != 0)
		res = SUBMIT_OK;	/* a replay succeeds again */
	else
		res = db_session_validated(c->db, s->sid, now) == DB_OK ?
		    SUBMIT_OK : SUBMIT_ERROR;
	if (res == SUBMIT_ERROR) {
		db_rollback(c->db);
		return res;
	}
	if (db_commit(c->db) != DB_OK)
		return SUBMIT_ERROR;
	return res;
}

/* Reads sid, client_secret and token; -1 with rs set when one is bad. */
static int
submit_args(const cJSON *args, const char **sid, const char **secret,
    const char **token, struct resp *rs)
{
	if (req_field_ok(rs, json_get_str(args, "sid", 1, MAX_OPAQUE_ID, sid),
	    "sid") == -1 ||
	    req_field_ok(rs, json_get_str(args, "client_secret", 1,
	    MAX_OPAQUE_ID, secret), "client_secret") == -1 ||
	    req_field_ok(rs, json_get_str(args, "token", 1, MAX_TOKEN, token),
	    "token") == -1)
		return -1;
	if (!opaque_id_valid(*sid) || !opaque_id_valid(*secret)) {
		resp_err(rs, MX_INVALID_PARAM, "sid and client_secret must be "
		    "1 to 255 of [0-9a-zA-Z.=_-]");
		return -1;
	}
	return 0;
}

/* POST validate/email/submitToken: {"success": true} or an error. */
static void
h_email_submit(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *o;
	const char		*sid, *secret, *token;
	struct db_session	 s;

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, rs) == -1 ||
	    submit_args(args, &sid, &secret, &token, rs) == -1)
		goto out;
	switch (submit(c, "email", sid, secret, token, &s)) {
	case SUBMIT_OK:
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "success", 1);
		resp_json(rs, 200, o);
		cJSON_Delete(o);
		break;
	case SUBMIT_NO_SESSION:
		resp_err(rs, MX_INVALID_PARAM, "No session with that sid and "
		    "client_secret");
		break;
	case SUBMIT_EXPIRED:
		resp_err(rs, MX_SESSION_EXPIRED, "The session has expired; "
		    "request a new token");
		break;
	case SUBMIT_DEAD:
		resp_err(rs, MX_SESSION_EXPIRED, "Too many wrong tokens; "
		    "request a new token");
		break;
	case SUBMIT_WRONG_TOKEN:
		resp_err(rs, MX_TOKEN_INCORRECT, NULL);
		break;
	case SUBMIT_ERROR:
		resp_err(rs, MX_UNAVAILABLE, NULL);
		break;
	}
out:
	db_session_clear(&s);
	cJSON_Delete(args);
}

/*
 * GET validate/email/submitToken: the link in the mail.  An HTML page
 * from the brand's template, or on success with a next_link stored at
 * requestToken, a 302 to it (never to a link from this request).
 */
static void
h_email_submit_link(struct ctx *c, const struct req *r, struct resp *rs)
{
	struct tmpl_var		 var[2];
	const char		*brand = req_query(r, "brand");
	const char		*sid, *secret, *token, *msg;
	struct db_session	 s;
	struct buf		 page = { 0 };
	struct resp		 ignored = { 0, { 0 }, NULL, NULL };
	cJSON			*args = NULL;
	int			 status = 400;

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, &ignored) == -1 ||
	    submit_args(args, &sid, &secret, &token, &ignored) == -1)
		msg = "Verification failed: the link is incomplete. Copy the "
		    "whole link from the email into your browser.";
	else
		switch (submit(c, "email", sid, secret, token, &s)) {
		case SUBMIT_OK:
			if (s.next_link != NULL) {
				resp_redirect(rs, s.next_link);
				goto out;
			}
			status = 200;
			msg = "Verification successful! Please return to your "
			    "Matrix client to continue.";
			break;
		case SUBMIT_EXPIRED:
		case SUBMIT_DEAD:
			msg = "Verification failed: this link has expired. "
			    "Request another verification email.";
			break;
		case SUBMIT_ERROR:
			status = 503;
			msg = "Verification is not available right now. "
			    "Please try again later.";
			break;
		case SUBMIT_NO_SESSION:
		case SUBMIT_WRONG_TOKEN:
		default:
			msg = "Verification failed: you may need to request "
			    "another verification email.";
			break;
		}
	var[0] = (struct tmpl_var){ "message", msg };
	var[1] = (struct tmpl_var){ "brand",
	    brand == NULL ? c->cfg.default_brand : brand };
	if (tmpl_render(tmpl_get(&c->templates, brand, TMPL_VERIFY_PAGE), var,
	    2, &page) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	resp_html(rs, status, &page);
out:
	resp_free(&ignored);
	buf_free(&page);
	db_session_clear(&s);
	cJSON_Delete(args);
}

/* GET 3pid/getValidated3pid?sid&client_secret. */
static void
h_get_validated(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *o;
	const char		*sid, *secret;
	char			 cs_hash[SHA256_HEX_LEN + 1];
	struct db_session	 s;
	enum db_res		 rc;

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, rs) == -1 ||
	    req_field_ok(rs, json_get_str(args, "sid", 1, MAX_OPAQUE_ID, &sid),
	    "sid") == -1 ||
	    req_field_ok(rs, json_get_str(args, "client_secret", 1,
	    MAX_OPAQUE_ID, &secret), "client_secret") == -1)
		goto out;
	sha256_hex(secret, strlen(secret), cs_hash);
	rc = db_session_get(c->db, sid, &s);
	if (rc == DB_ERROR || rc == DB_CONFLICT) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	if (rc == DB_NOTFOUND || !ct_streq(s.client_secret_hash, cs_hash)) {
		resp_err(rs, MX_NO_VALID_SESSION, NULL);
		goto out;
	}
	if (session_expired(&s, now_ms())) {
		resp_err(rs, MX_SESSION_EXPIRED, NULL);
		goto out;
	}
	if (s.validated_ts == 0) {
		resp_err(rs, MX_SESSION_NOT_VALIDATED, NULL);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "medium", s.medium);
	cJSON_AddStringToObject(o, "address", s.address);
	cJSON_AddNumberToObject(o, "validated_at", (double)s.validated_ts);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
out:
	db_session_clear(&s);
	cJSON_Delete(args);
}

static const struct route routes[] = {
	{ METHOD_POST, API_V1 | API_V2, "validate/email/requestToken",
	    h_email_request, AUTH_USER },
	{ METHOD_POST, API_V1 | API_V2, "validate/email/submitToken",
	    h_email_submit, AUTH_USER },
	{ METHOD_GET, API_V1 | API_V2, "validate/email/submitToken",
	    h_email_submit_link, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "3pid/getValidated3pid",
	    h_get_validated, AUTH_USER },
};

static const struct app validate_app = {
	"sigil-validate", APP_NEEDS_DB | APP_NEEDS_MAIL, routes,
	sizeof(routes) / sizeof(routes[0]),
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&validate_app, argc, argv);
}
