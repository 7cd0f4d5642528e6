/*
 * sigil-validate: proving that someone controls an email address or a
 * phone number.
 *
 * POST validate/email/requestToken makes (or finds) the session of
 * (address, client_secret) and mails a link with a token, once per
 * send_attempt: a repeat of an attempt already sent answers the same sid
 * and sends nothing; the session row is locked while the mail goes out,
 * so identical concurrent requests make one session and one mail.  Rate
 * limits (per address, and per client IP on v1 or user on v2) are checked
 * before anything is sent.  A failed send keeps the session and does not
 * count the attempt.  validate/msisdn/requestToken does the same for a
 * phone number parsed by libphonenumber, texting a numeric code through
 * the SMS gateway, with rate limits per number and per region as well.
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
#include "clientnet.h"
#include "db.h"
#include "email.h"
#include "fcgi.h"
#include "json.h"
#include "bounds.h"
#include "log.h"
#include "mail.h"
#include "phone.h"
#include "ratelimit.h"
#include "req.h"
#include "resp.h"
#include "session.h"
#include "sms.h"
#include "tmpl.h"
#include "secret.h"
#include "util.h"

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
 * Builds the verification mail for session s into msg.  Returns 0 or -1.
 */
static int
build_mail(struct ctx *c, const struct req *r, const struct db_session *s,
    const char *client_secret, struct buf *msg)
{
	struct mail_ids	 ids;
	struct buf	 link = { 0 }, text = { 0 };
	const char	*brand = tmpl_brand(&c->templates,
			    req_query(r, "brand"));
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
			{ "brand", brand },
		};

		if (tmpl_fill(tmpl_get(&c->templates, brand,
		    TMPL_VERIFICATION_MAIL), vars, sizeof(vars) /
		    sizeof(vars[0]), &text) == -1 ||
		    mail_finish_to(buf_str(&text), s->address, msg) == -1) {
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
 * Writes a new validation token for medium into out (at least 33 bytes):
 * 32 characters of [0-9a-zA-Z] for a mail, sms_code_length digits for a
 * text.  Returns 0 or -1.
 */
static int
make_token(const struct ctx *c, const char *medium, char *out)
{
	unsigned char	 r;
	int64_t		 i = 0;

	if (strcmp(medium, "email") == 0)
		return random_token(out, EMAIL_TOKEN_LEN + 1);
	while (i < c->cfg.sms_code_length) {
		if (random_bytes(&r, 1) == -1)
			return -1;
		if (r >= 250)		/* keep the digits uniform */
			continue;
		out[i++] = (char)('0' + r % 10);
	}
	out[i] = '\0';
	return 0;
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
	rc = make_token(c, medium, fresh.token) == -1 ? DB_ERROR :
	    db_session_insert(c->db, &fresh);
	free(fresh.token);
	if (rc != DB_OK)
		return rc;
	return db_session_lock(c->db, medium, address, cs_hash, s);
}

/* How a session's token reaches its owner. */
struct delivery {
	const char		*medium;	/* "email" or "msisdn" */
	const char		*address;	/* canonical */
	const char		*buckets[2];	/* rate limits besides the */
	const struct cfg_rate	*rates[2];	/* requester's, NULL-ended */
	int	(*send)(struct ctx *, const struct req *,
		    const struct db_session *, const char *);
	enum mxerr		 send_error;
};

/*
 * The common part of requestToken: reads client_secret, send_attempt and
 * next_link from args, then in one transaction opens the session, and
 * unless send_attempt was already sent checks the rate limits and
 * delivers the token.  Returns 0 with the session in *s when the reply is
 * a success, or -1 with the error response set.
 */
static int
request_token(struct ctx *c, const struct req *r, const cJSON *args,
    const struct delivery *d, struct db_session *s, struct resp *rs)
{
	const char	*secret, *next_link = NULL;
	char		 cs_hash[SHA256_HEX_LEN + 1];
	char		 client[CLIENTNET_KEY_MAX];
	struct buf	 bucket = { 0 };
	int64_t		 attempt;
	enum json_res	 jr;
	size_t		 i;
	int		 rc = -1;

	if (req_field_ok(rs, json_get_str(args, "client_secret", 0, SIZE_MAX,
	    &secret), "client_secret") == -1)
		return -1;
	if (!opaque_id_valid(secret)) {
		resp_err(rs, MX_INVALID_PARAM, "client_secret must be 1 to 255 "
		    "of [0-9a-zA-Z.=_-]");
		return -1;
	}
	if (req_field_ok(rs, json_get_int_lenient(args, "send_attempt", 0,
	    JSON_INT_MAX, &attempt), "send_attempt") == -1)
		return -1;
	jr = json_get_str(args, "next_link", 1, MAX_NEXT_LINK, &next_link);
	if (jr == JSON_MISSING)
		next_link = NULL;
	else if (jr != JSON_OK || !next_link_valid(&c->cfg, next_link)) {
		resp_err(rs, MX_INVALID_PARAM, "next_link must be an http or "
		    "https URL%s", c->cfg.n_next_link_hosts > 0 ?
		    " on an allowed host" : "");
		return -1;
	}
	sha256_hex(secret, strlen(secret), cs_hash);

	if (db_begin(c->db) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return -1;
	}
	if (session_open(c, d->medium, d->address, cs_hash, next_link, s) !=
	    DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto rollback;
	}
	if (attempt <= s->send_attempt) {
		rc = 0;			/* already sent: send nothing */
		goto commit;
	}
	for (i = 0; i < 2 && d->buckets[i] != NULL; i++)
		if (ratelimit_check(c->db, d->buckets[i], d->rates[i],
		    rs) == -1)
			goto commit;
	if (r->api == API_V2)
		buf_printf(&bucket, "user:%s", r->user_id);
	else {
		(void)clientnet_key(r->remote_addr,
		    (int)c->cfg.client_ipv6_prefix, client, sizeof(client));
		buf_printf(&bucket, "ip:%s", client);
	}
	if (ratelimit_check(c->db, buf_str(&bucket),
	    &c->cfg.ratelimit[RATELIMIT_REQUESTER], rs) == -1)
		goto commit;
	if (d->send(c, r, s, secret) == -1) {
		/* The session stays; the attempt does not count. */
		resp_err(rs, d->send_error, NULL);
		goto commit;
	}
	if (db_session_sent(c->db, s->sid, attempt) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto rollback;
	}
	rc = 0;
commit:
	if (db_commit(c->db) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		rc = -1;
	}
	buf_free(&bucket);
	return rc;
rollback:
	db_rollback(c->db);
	buf_free(&bucket);
	return -1;
}

static int
send_mail(struct ctx *c, const struct req *r, const struct db_session *s,
    const char *secret)
{
	struct buf	 msg = { 0 };
	int		 rc = -1;

	if (build_mail(c, r, s, secret, &msg) == 0)
		rc = mail_send(s->address, &msg);
	buf_free(&msg);
	return rc;
}

/* POST validate/email/requestToken: {"sid"}. */
static void
h_email_request(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *o;
	struct db_session	 s;
	struct buf		 bucket = { 0 };
	struct delivery		 d;
	const char		*email;
	char			 address[3 * MAX_EMAIL + 1];
	enum json_res		 jr;

	memset(&s, 0, sizeof(s));
	if (req_args_form(r, &args, rs) == -1)
		goto out;
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
	buf_printf(&bucket, "email:%s", address);
	d = (struct delivery){ "email", address, { buf_str(&bucket), NULL },
	    { &c->cfg.ratelimit[RATELIMIT_ADDRESS], NULL }, send_mail,
	    MX_EMAIL_SEND_ERROR };
	if (request_token(c, r, args, &d, &s, rs) == -1)
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "sid", s.sid);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
out:
	db_session_clear(&s);
	buf_free(&bucket);
	cJSON_Delete(args);
}

static int
send_sms(struct ctx *c, const struct req *r, const struct db_session *s,
    const char *secret)
{
	const char	*brand = tmpl_brand(&c->templates,
			    req_query(r, "brand"));
	struct buf	 text = { 0 };
	int		 rc = -1;

	(void)secret;
	{
		const struct tmpl_var vars[] = {
			{ "token", s->token },
			{ "brand", brand },
		};

		if (tmpl_fill(tmpl_get(&c->templates, brand, TMPL_SMS), vars,
		    2, &text) == 0) {
			while (text.len > 0 && (text.data[text.len - 1] ==
			    '\n' || text.data[text.len - 1] == '\r'))
				text.data[--text.len] = '\0';
			rc = sms_send(&c->cfg, s->address, buf_str(&text));
		}
	}
	buf_free(&text);
	return rc;
}

static int
region_allowed(const struct cfg *cfg, const char *region)
{
	size_t	 i;

	for (i = 0; i < cfg->n_sms_deny_regions; i++)
		if (strcmp(cfg->sms_deny_regions[i], region) == 0)
			return 0;
	if (cfg->n_sms_allow_regions == 0)
		return 1;
	for (i = 0; i < cfg->n_sms_allow_regions; i++)
		if (strcmp(cfg->sms_allow_regions[i], region) == 0)
			return 1;
	return 0;
}

/*
 * POST validate/msisdn/requestToken {client_secret, country,
 * phone_number, send_attempt, next_link?}:
 * {"success": true, "sid", "msisdn", "intl_fmt"}.
 */
static void
h_msisdn_request(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *o;
	struct db_session	 s;
	struct buf		 number = { 0 }, country_bucket = { 0 };
	struct delivery		 d;
	const char		*country, *phone;
	char			 msisdn[PHONE_MAX_MSISDN];
	char			 intl[PHONE_MAX_INTL], region[PHONE_MAX_REGION];
	char			 cc[3];
	enum json_res		 jr;

	memset(&s, 0, sizeof(s));
	if (req_args_form(r, &args, rs) == -1)
		goto out;
	if (req_field_ok(rs, json_get_str(args, "country", 0, SIZE_MAX,
	    &country), "country") == -1)
		goto out;
	if ((jr = json_get_str(args, "phone_number", 0, SIZE_MAX, &phone)) ==
	    JSON_MISSING) {
		req_field_ok(rs, jr, "phone_number");
		goto out;
	}
	if (strlen(country) != 2) {
		resp_err(rs, MX_INVALID_PARAM, "country must be an ISO 3166 "
		    "alpha-2 code");
		goto out;
	}
	cc[0] = (char)(country[0] & ~0x20);	/* upper case */
	cc[1] = (char)(country[1] & ~0x20);
	cc[2] = '\0';
	if (jr != JSON_OK || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' ||
	    cc[1] > 'Z' || phone_parse(phone, cc, msisdn, intl, region) == -1) {
		resp_err(rs, MX_INVALID_ADDRESS, "Not a valid phone number");
		goto out;
	}
	if (!region_allowed(&c->cfg, region)) {
		resp_err(rs, MX_DESTINATION_REJECTED, NULL);
		goto out;
	}
	if (!sms_configured(&c->cfg)) {
		resp_err(rs, MX_SEND_ERROR, "This server sends no text "
		    "messages");
		goto out;
	}
	buf_printf(&number, "msisdn:%s", msisdn);
	buf_printf(&country_bucket, "region:%s", region);
	d = (struct delivery){ "msisdn", msisdn,
	    { buf_str(&number), buf_str(&country_bucket) },
	    { &c->cfg.ratelimit[RATELIMIT_MSISDN],
	    &c->cfg.ratelimit[RATELIMIT_COUNTRY] },
	    send_sms, MX_SEND_ERROR };
	if (request_token(c, r, args, &d, &s, rs) == -1)
		goto out;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "success", 1);
	cJSON_AddStringToObject(o, "sid", s.sid);
	cJSON_AddStringToObject(o, "msisdn", msisdn);
	cJSON_AddStringToObject(o, "intl_fmt", intl);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
out:
	db_session_clear(&s);
	buf_free(&number);
	buf_free(&country_bucket);
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

/* POST validate/<medium>/submitToken: {"success": true} or an error. */
static void
submit_json(struct ctx *c, const struct req *r, struct resp *rs,
    const char *medium)
{
	cJSON			*args = NULL, *o;
	const char		*sid, *secret, *token;
	struct db_session	 s;

	memset(&s, 0, sizeof(s));
	if (req_args_form(r, &args, rs) == -1 ||
	    submit_args(args, &sid, &secret, &token, rs) == -1)
		goto out;
	switch (submit(c, medium, sid, secret, token, &s)) {
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
 * GET validate/<medium>/submitToken: the link in the mail.  An HTML page
 * from the brand's template, or on success with a next_link stored at
 * requestToken, a 302 to it (never to a link from this request).
 */
static void
submit_link(struct ctx *c, const struct req *r, struct resp *rs,
    const char *medium)
{
	struct tmpl_var		 var[2];
	const char		*brand = tmpl_brand(&c->templates,
				    req_query(r, "brand"));
	const char		*sid, *secret, *token, *msg;
	struct db_session	 s;
	struct buf		 page = { 0 };
	struct resp		 ignored = { 0, { 0 }, NULL, NULL, 0 };
	cJSON			*args = NULL;
	int			 status = 400;

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, &ignored) == -1 ||
	    submit_args(args, &sid, &secret, &token, &ignored) == -1)
		msg = "Verification failed: the link is incomplete. Copy the "
		    "whole link from the email into your browser.";
	else
		switch (submit(c, medium, sid, secret, token, &s)) {
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
	var[1] = (struct tmpl_var){ "brand", brand };
	if (tmpl_render_page(tmpl_get(&c->templates, brand, TMPL_VERIFY_PAGE),
	    var, 2, &page) == -1) {
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

static void
h_email_submit(struct ctx *c, const struct req *r, struct resp *rs)
{
	submit_json(c, r, rs, "email");
}

static void
h_msisdn_submit(struct ctx *c, const struct req *r, struct resp *rs)
{
	submit_json(c, r, rs, "msisdn");
}

static void
h_email_submit_link(struct ctx *c, const struct req *r, struct resp *rs)
{
	submit_link(c, r, rs, "email");
}

static void
h_msisdn_submit_link(struct ctx *c, const struct req *r, struct resp *rs)
{
	submit_link(c, r, rs, "msisdn");
}

/* GET 3pid/getValidated3pid?sid&client_secret. */
static void
h_get_validated(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *o;
	const char		*sid, *secret;
	struct db_session	 s;
	enum session_res	 sr;

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, rs) == -1 ||
	    req_field_ok(rs, json_get_str(args, "sid", 1, MAX_OPAQUE_ID, &sid),
	    "sid") == -1 ||
	    req_field_ok(rs, json_get_str(args, "client_secret", 1,
	    MAX_OPAQUE_ID, &secret), "client_secret") == -1)
		goto out;
	if ((sr = session_validated(c->db, sid, secret, &s)) != SESSION_OK) {
		resp_err(rs, session_mxerr(sr), NULL);
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
	{ METHOD_POST, API_V1 | API_V2, "validate/msisdn/requestToken",
	    h_msisdn_request, AUTH_USER },
	{ METHOD_POST, API_V1 | API_V2, "validate/msisdn/submitToken",
	    h_msisdn_submit, AUTH_USER },
	{ METHOD_GET, API_V1 | API_V2, "validate/msisdn/submitToken",
	    h_msisdn_submit_link, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "3pid/getValidated3pid",
	    h_get_validated, AUTH_USER },
};

static const struct app validate_app = {
	"sigil-validate", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .http = &app_http, .mail = &app_mail,
	    .templates = APP_MAIL_VERIFY },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&validate_app, argc, argv);
}
