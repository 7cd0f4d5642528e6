/*
 * sigil-bind: POST 3pid/bind {sid, client_secret, mxid} publishes a
 * binding between the 3PID a validated session proved and a user ID, and
 * answers the signed association.  A 3PID binds to one user ID; binding
 * again replaces.  On v2 the user ID must be the token's user.
 *
 * POST 3pid/unbind {mxid, threepid: {medium, address}, sid?,
 * client_secret?} removes a binding, on v1 and v2 alike (Synapse sends no
 * Bearer token here), when either a validated session proves exactly
 * that 3PID, or the request carries an X-Matrix signature of the
 * homeserver that owns mxid.  That homeserver's keys are fetched from its
 * /_matrix/key/v2/server (server discovery, blocklist and caps of
 * common/http) and kept until their valid_until_ts.
 *
 * Every bind queues, in the bind's transaction, an onbind for the
 * homeserver of the user ID: the signed association with the 3PID's
 * pending email invites attached (an empty list when there are none);
 * sigil-notify delivers it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "db.h"
#include "fcgi.h"
#include "http.h"
#include "ident.h"
#include "log.h"
#include "json.h"
#include "bounds.h"
#include "req.h"
#include "resp.h"
#include "session.h"
#include "sign.h"
#include "threepid.h"
#include "util.h"
#include "xmatrix.h"

/*
 * The body onbind delivers: the association of (medium, address) with
 * mxid, with each pending invite of inv (none: an empty list, which the
 * server-server API requires) attached and signed with the long-term
 * key, all signed.  Returns the JSON text (caller frees) or NULL.
 */
static char *
onbind_body(const struct ctx *c, const struct db_session *s,
    const char *mxid, int64_t now, const struct db_invites *inv)
{
	cJSON	*assoc, *list, *item, *signed_obj;
	char	*text = NULL;
	size_t	 i;

	assoc = threepid_association(s->medium, s->address, mxid, now, now,
	    now + THREEPID_VALIDITY_MS);
	list = cJSON_AddArrayToObject(assoc, "invites");
	for (i = 0; i < inv->n; i++) {
		item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "medium", s->medium);
		cJSON_AddStringToObject(item, "address", s->address);
		cJSON_AddStringToObject(item, "mxid", mxid);
		cJSON_AddStringToObject(item, "room_id", inv->room_id[i]);
		cJSON_AddStringToObject(item, "sender", inv->sender[i]);
		cJSON_AddStringToObject(item, "token", inv->token[i]);
		signed_obj = cJSON_AddObjectToObject(item, "signed");
		cJSON_AddStringToObject(signed_obj, "mxid", mxid);
		cJSON_AddStringToObject(signed_obj, "token", inv->token[i]);
		cJSON_AddItemToArray(list, item);
		if (sign_json(c->key, c->cfg.server_name, signed_obj) == -1)
			goto out;
	}
	if (sign_json(c->key, c->cfg.server_name, assoc) == -1)
		goto out;
	text = cJSON_PrintUnformatted(assoc);
out:
	cJSON_Delete(assoc);
	return text;
}

/*
 * Records the binding, with the signature of its association (assoc,
 * signed) for v1 lookups to answer, and, in the same transaction, queues
 * its onbind, with the pending invites of that 3PID, for delivery to the
 * homeserver of mxid, where sigil-notify picks it up.  Returns 0, or -1
 * (nothing recorded, nothing queued).
 */
static int
bind_and_queue(struct ctx *c, const struct db_session *s, const char *mxid,
    int64_t now, const cJSON *assoc)
{
	struct db_invites	 inv;
	const char		*sig;
	char			*body = NULL;
	int			 rc = -1, ref;

	memset(&inv, 0, sizeof(inv));
	ref = app_key_ref(c);
	sig = sign_json_get(assoc, c->cfg.server_name, c->key->id);
	if (db_begin(c->db) != DB_OK)
		return -1;
	if (db_bind(c->db, s->medium, s->address, mxid, now,
	    now + THREEPID_VALIDITY_MS, ref > 0 ? sig : NULL, ref) != DB_OK ||
	    db_invites_pending(c->db, s->medium, s->address, now, &inv) !=
	    DB_OK)
		goto out;
	if ((body = onbind_body(c, s, mxid, now, &inv)) == NULL ||
	    db_outbox_queue(c->db, ident_user_id_server(mxid), body, now,
	    (const char *const *)inv.token, inv.n) != DB_OK)
		goto out;
	if (db_commit(c->db) != DB_OK)
		goto out;
	if (inv.n > 0)
		log_info("bind: %zu invite(s) queued for %s",
		    inv.n, ident_user_id_server(mxid));
	rc = 0;
out:
	if (rc == -1)
		db_rollback(c->db);
	free(body);
	db_invites_clear(&inv);
	return rc;
}

/* POST 3pid/bind. */
static void
h_bind(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *assoc = NULL;
	const char		*sid, *secret, *mxid;
	struct db_session	 s;
	enum session_res	 sr;
	int64_t			 now = now_ms();

	memset(&s, 0, sizeof(s));
	if (req_args_form(r, &args, rs) == -1 ||
	    req_field_ok(rs, json_get_str(args, "sid", 1, MAX_OPAQUE_ID, &sid),
	    "sid") == -1 ||
	    req_field_ok(rs, json_get_str(args, "client_secret", 1,
	    MAX_OPAQUE_ID, &secret), "client_secret") == -1 ||
	    req_field_ok(rs, json_get_str(args, "mxid", 1, MAX_USER_ID, &mxid),
	    "mxid") == -1)
		goto out;
	if (!ident_user_id_valid(mxid)) {
		resp_err(rs, MX_INVALID_PARAM, "mxid is not a valid user ID");
		goto out;
	}
	if (r->api == API_V2 && strcmp(mxid, r->user_id) != 0) {
		resp_err(rs, MX_NOT_ALLOWED, "A user may only bind to "
		    "themselves");
		goto out;
	}
	if ((sr = session_validated(c->db, sid, secret, &s)) != SESSION_OK) {
		resp_err(rs, session_mxerr(sr), NULL);
		goto out;
	}
	assoc = threepid_association(s.medium, s.address, mxid, now, now,
	    now + THREEPID_VALIDITY_MS);
	if (sign_json(c->key, c->cfg.server_name, assoc) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	if (bind_and_queue(c, &s, mxid, now, assoc) == -1) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	resp_json(rs, 200, assoc);
out:
	cJSON_Delete(assoc);
	db_session_clear(&s);
	cJSON_Delete(args);
}

/* Homeserver keys we fetched, kept until their valid_until_ts. */
#define KEY_CACHE		64
#define KEY_CACHE_MAX_MS	(24LL * 3600 * 1000)
#define KEY_ORIGINS		64

static struct server_key {
	char	 origin[MAX_SERVER_NAME + 1];
	char	 key_id[MAX_KEY_ID + 1];
	char	 public_b64[MAX_PUBLIC_KEY_B64];
	int64_t	 valid_until;
} key_cache[KEY_CACHE];
static size_t	 key_cache_next;

/*
 * Per origin, the last key fetch: after a failed one no fetch until
 * failed_until, after a good one none until fetched_until (a key id it
 * did not have is unknown meanwhile), both http_key_failure_ttl later;
 * and no origin is fetched twice in one request (request is the serial
 * of the unbind that fetched).  The worker is single-threaded, so one
 * fetch per origin is in flight at most.
 */
static struct key_origin {
	char		 origin[MAX_SERVER_NAME + 1];
	int64_t		 failed_until;
	int64_t		 fetched_until;
	unsigned long	 request;
} key_origins[KEY_ORIGINS];
static size_t		 key_origins_next;
static unsigned long	 request_serial;

/* Why X-Matrix credentials did not verify; of several, the worst. */
enum xm_fail {
	XM_NONE,
	XM_KEY,			/* a key could not be had: 502 */
	XM_INVALID,		/* malformed, or a bad signature: 403 */
	XM_DESTINATION,		/* one names another server: 403 */
};

/* Returns origin's row in key_origins, made (oldest replaced) if new. */
static struct key_origin *
key_origin(const char *origin)
{
	struct key_origin	*o;
	size_t			 i;

	for (i = 0; i < KEY_ORIGINS; i++)
		if (strcmp(key_origins[i].origin, origin) == 0)
			return &key_origins[i];
	o = &key_origins[key_origins_next];
	key_origins_next = (key_origins_next + 1) % KEY_ORIGINS;
	memset(o, 0, sizeof(*o));
	snprintf(o->origin, sizeof(o->origin), "%.*s", MAX_SERVER_NAME,
	    origin);
	return o;
}

/*
 * Fetches origin's keys and caches the current ones.  The answer must be
 * JSON for that server, with an integer valid_until_ts, and signed by
 * its own key key_id, or when it lacks key_id by one of the keys it has.
 * Returns 0 (key_id cached), 1 (the answer is good but lacks key_id) or
 * -1 (the fetch failed; logged).
 */
static int
fetch_server_keys(const char *origin, const char *key_id)
{
	struct http_resp	 hr = { 0, -1, { 0 } };
	cJSON			*doc = NULL;
	const cJSON		*vk, *k;
	const char		*name, *pub;
	int64_t			 until, now = now_ms();
	struct server_key	*slot;
	enum http_res		 res;
	int			 rc = -1;

	if ((res = http_matrix_get(origin, "/_matrix/key/v2/server",
	    HTTP_CAP_KEYS, &hr)) != HTTP_OK) {
		log_warn("unbind: %s key %s: key fetch failed: %s", origin,
		    key_id, http_res_str(res));
		goto out;
	}
	if (hr.status != 200 ||
	    json_parse_object(buf_str(&hr.body), hr.body.len, &doc) !=
	    JSON_PARSE_OK ||
	    json_get_str(doc, "server_name", 1, MAX_SERVER_NAME, &name) !=
	    JSON_OK || strcmp(name, origin) != 0 ||
	    json_get_int(doc, "valid_until_ts", 0, JSON_INT_MAX, &until) !=
	    JSON_OK ||
	    json_get_object(doc, "verify_keys", &vk) != JSON_OK) {
		log_warn("unbind: %s key %s: key fetch failed: no usable keys "
		    "(HTTP %ld)", origin, key_id, hr.status);
		goto out;
	}
	if ((k = cJSON_GetObjectItemCaseSensitive(vk, key_id)) != NULL) {
		if (json_get_str(k, "key", 43, MAX_PUBLIC_KEY_B64 - 1, &pub) !=
		    JSON_OK || sign_verify_json(doc, origin, key_id, pub) == -1)
			k = NULL;
	} else {
		/* Not the key asked for: is the answer itself good? */
		for (k = vk->child; k != NULL; k = k->next)
			if (json_get_str(k, "key", 43, MAX_PUBLIC_KEY_B64 - 1,
			    &pub) == JSON_OK && strlen(k->string) <=
			    MAX_KEY_ID && sign_verify_json(doc, origin,
			    k->string, pub) == 0)
				break;
		if (k != NULL)
			rc = 1;
	}
	if (k == NULL) {
		log_warn("unbind: %s key %s: key fetch failed: the answer is "
		    "not self-signed", origin, key_id);
		goto out;
	}
	if (until > now + KEY_CACHE_MAX_MS)
		until = now + KEY_CACHE_MAX_MS;
	for (k = vk->child; k != NULL; k = k->next) {
		if (json_get_str(k, "key", 43, MAX_PUBLIC_KEY_B64 - 1, &pub) !=
		    JSON_OK || strlen(k->string) > MAX_KEY_ID)
			continue;
		slot = &key_cache[key_cache_next];
		key_cache_next = (key_cache_next + 1) % KEY_CACHE;
		snprintf(slot->origin, sizeof(slot->origin), "%.255s", origin);
		snprintf(slot->key_id, sizeof(slot->key_id), "%s", k->string);
		snprintf(slot->public_b64, sizeof(slot->public_b64), "%s", pub);
		slot->valid_until = until;
	}
	if (rc != 1)
		rc = 0;
out:
	cJSON_Delete(doc);
	http_resp_free(&hr);
	return rc;
}

/*
 * Returns origin's public key key_id, from the cache or fetched, or NULL
 * with *why XM_KEY (no key could be had) or XM_INVALID (origin has no
 * such key); logged.  No fetch when one to origin failed or succeeded
 * less than ttl seconds ago, or was made in this request already.
 */
static const char *
server_key(const char *origin, const char *key_id, int64_t ttl,
    enum xm_fail *why)
{
	struct key_origin	*o;
	int64_t			 now = now_ms();
	size_t			 i;
	int			 fetched = 0;

	for (;;) {
		for (i = 0; i < KEY_CACHE; i++)
			if (key_cache[i].valid_until > now &&
			    strcmp(key_cache[i].origin, origin) == 0 &&
			    strcmp(key_cache[i].key_id, key_id) == 0)
				return key_cache[i].public_b64;
		*why = XM_INVALID;
		if (fetched) {
			log_warn("unbind: %s key %s: unknown key", origin,
			    key_id);
			return NULL;
		}
		o = key_origin(origin);
		if (o->failed_until > now) {
			log_warn("unbind: %s key %s: key fetch failed less than "
			    "%lld s ago; not tried again yet", origin, key_id,
			    (long long)ttl);
			*why = XM_KEY;
			return NULL;
		}
		if (o->request == request_serial || o->fetched_until > now) {
			log_warn("unbind: %s key %s: unknown key (not among "
			    "the keys fetched last)", origin, key_id);
			return NULL;
		}
		o->request = request_serial;
		if (fetch_server_keys(origin, key_id) == -1) {
			o->failed_until = now_ms() + ttl * 1000;
			*why = XM_KEY;
			return NULL;
		}
		o->fetched_until = now_ms() + ttl * 1000;
		fetched = 1;
	}
}

/*
 * Verifies cred's signature over {method, uri, origin, <dest_key>: our
 * name, content} with the public key pub.  Returns 0 or -1.
 */
static int
xmatrix_verify(struct ctx *c, const struct req *r, const cJSON *content,
    const struct xmatrix *cred, const char *dest_key, const char *pub)
{
	cJSON	*signed_req;
	int	 rc;

	signed_req = cJSON_CreateObject();
	cJSON_AddStringToObject(signed_req, "method", "POST");
	cJSON_AddStringToObject(signed_req, "uri", r->request_uri);
	cJSON_AddStringToObject(signed_req, "origin", cred->origin);
	cJSON_AddStringToObject(signed_req, dest_key, c->cfg.server_name);
	cJSON_AddItemToObject(signed_req, "content",
	    cJSON_Duplicate(content, 1));
	cJSON_AddItemToObject(cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(signed_req, "signatures"), cred->origin),
	    cred->key, cJSON_CreateString(cred->sig));
	rc = sign_verify_json(signed_req, cred->origin, cred->key, pub);
	cJSON_Delete(signed_req);
	return rc;
}

/*
 * Checks the request's X-Matrix credentials: a signature over {method,
 * uri, origin, destination, content} as the server-server spec has it,
 * or with destination_is instead of destination as Synapse signs.
 * Returns the verified origin (borrowed from creds), or NULL with *why
 * the worst reason a credential failed (logged, without signature or
 * body).
 */
static const char *
xmatrix_origin(struct ctx *c, const struct req *r, const cJSON *content,
    struct xmatrix *creds, enum xm_fail *why)
{
	const char	*pub;
	enum xm_fail	 f;
	int		 n, i;

	*why = XM_INVALID;
	request_serial++;
	if (r->request_uri == NULL || (n = xmatrix_parse(r->authorization,
	    creds, XMATRIX_MAX_CREDENTIALS)) == -1) {
		log_warn("unbind: a malformed X-Matrix header");
		return NULL;
	}
	/* A destination that is not us denies the request (server-server
	 * API), before any key is fetched. */
	for (i = 0; i < n; i++)
		if (creds[i].destination[0] != '\0' &&
		    strcmp(creds[i].destination, c->cfg.server_name) != 0) {
			if (ident_server_name_valid(creds[i].origin) &&
			    ident_key_id_valid(creds[i].key))
				log_warn("unbind: %s key %s: destination "
				    "mismatch", creds[i].origin, creds[i].key);
			else
				log_warn("unbind: destination mismatch");
			*why = XM_DESTINATION;
			return NULL;
		}
	*why = XM_NONE;
	for (i = 0; i < n; i++) {
		if (!ident_server_name_valid(creds[i].origin) ||
		    !ident_key_id_valid(creds[i].key)) {
			log_warn("unbind: an X-Matrix credential with an "
			    "invalid origin or key id");
			f = XM_INVALID;
		} else if ((pub = server_key(creds[i].origin, creds[i].key,
		    c->cfg.http_key_failure_ttl, &f)) == NULL)
			;	/* f says why */
		else if (xmatrix_verify(c, r, content, &creds[i],
		    "destination", pub) == 0 || xmatrix_verify(c, r, content,
		    &creds[i], "destination_is", pub) == 0)
			return creds[i].origin;
		else {
			log_warn("unbind: %s key %s: bad signature",
			    creds[i].origin, creds[i].key);
			f = XM_INVALID;
		}
		if (f > *why)
			*why = f;
	}
	return NULL;
}

/* POST 3pid/unbind. */
static void
h_unbind(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*body = NULL;
	const cJSON		*tp;
	const char		*mxid, *medium, *address, *sid = NULL;
	const char		*secret = NULL, *origin;
	char			 canon[THREEPID_MAX_ADDRESS];
	struct xmatrix		 creds[XMATRIX_MAX_CREDENTIALS];
	struct db_session	 s;
	enum session_res	 sr;
	enum xm_fail		 why;

	memset(&s, 0, sizeof(s));
	if (req_json(r, &body, rs) == -1 ||
	    req_field_ok(rs, json_get_str(body, "mxid", 1, MAX_USER_ID, &mxid),
	    "mxid") == -1 ||
	    req_field_ok(rs, json_get_object(body, "threepid", &tp),
	    "threepid") == -1 ||
	    req_field_ok(rs, json_get_str(tp, "medium", 1, 16, &medium),
	    "threepid.medium") == -1 ||
	    req_field_ok(rs, json_get_str(tp, "address", 1,
	    THREEPID_MAX_ADDRESS - 1, &address), "threepid.address") == -1)
		goto out;
	if (!ident_user_id_valid(mxid)) {
		resp_err(rs, MX_INVALID_PARAM, "mxid is not a valid user ID");
		goto out;
	}
	if (threepid_canonical(medium, address, canon, sizeof(canon)) == -1) {
		if (strcmp(medium, "email") == 0)
			resp_err(rs, MX_INVALID_EMAIL, NULL);
		else
			resp_err(rs, MX_INVALID_PARAM, "Not a valid 3PID");
		goto out;
	}
	json_get_str(body, "sid", 1, MAX_OPAQUE_ID, &sid);
	json_get_str(body, "client_secret", 1, MAX_OPAQUE_ID, &secret);
	if (sid != NULL && secret != NULL) {
		sr = session_validated(c->db, sid, secret, &s);
		if (sr == SESSION_UNKNOWN || (sr == SESSION_OK &&
		    (strcmp(s.medium, medium) != 0 ||
		    strcmp(s.address, canon) != 0))) {
			resp_err(rs, MX_FORBIDDEN, "The session is not for "
			    "that 3PID");
			goto out;
		}
		if (sr != SESSION_OK) {
			resp_err(rs, session_mxerr(sr), NULL);
			goto out;
		}
	} else if (r->authorization == NULL ||
	    strncasecmp(r->authorization, "X-Matrix", 8) != 0) {
		/* No credentials: the unbind table's 403 (it has no 401). */
		resp_err(rs, MX_FORBIDDEN, "Unbind needs sid and "
		    "client_secret, or an X-Matrix signature");
		goto out;
	} else if ((origin = xmatrix_origin(c, r, body, creds, &why)) ==
	    NULL) {
		/* The unbind table's 403 for invalid credentials, another
		 * destination's included; 502 when the homeserver's key could
		 * not be had (it may work later). */
		if (why == XM_INVALID)
			resp_err(rs, MX_FORBIDDEN, "Invalid homeserver "
			    "signature");
		else if (why == XM_KEY)
			resp_err(rs, MX_BAD_GATEWAY, "Could not fetch the "
			    "homeserver's signing key");
		else
			resp_err(rs, MX_FORBIDDEN, "The X-Matrix "
			    "destination is not this server");
		goto out;
	} else if (strcmp(ident_user_id_server(mxid), origin) != 0) {
		resp_err(rs, MX_FORBIDDEN, "A homeserver may only unbind its "
		    "own users");
		goto out;
	}
	if (db_unbind(c->db, medium, canon, mxid) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	resp_json_text(rs, 200, "{}");
out:
	db_session_clear(&s);
	cJSON_Delete(body);
}

static const struct route routes[] = {
	{ METHOD_POST, API_V1 | API_V2, "3pid/bind", h_bind, AUTH_USER },
	{ METHOD_POST, API_V1 | API_V2, "3pid/unbind", h_unbind, AUTH_NONE },
};

static const struct app bind_app = {
	"sigil-bind", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .http = &app_http, .key = &app_key },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&bind_app, argc, argv);
}
