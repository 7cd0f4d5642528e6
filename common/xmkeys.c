/*
 * X-Matrix keys: a homeserver's keys are fetched from its
 * /_matrix/key/v2/server (server discovery, blocklist and caps of
 * common/http), kept until their valid_until_ts (a day at most), and a
 * request's X-Matrix credentials are verified with them.  The worker is
 * single-threaded: the cache is the process's, one fetch per origin is
 * in flight at most.  A failed fetch is remembered for the whole host
 * too (common/outbound.c), so that another worker does not try it again
 * meanwhile.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bounds.h"
#include "buf.h"
#include "ident.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "outbound.h"
#include "sign.h"
#include "util.h"
#include "xmkeys.h"

static struct server_key {
	char	 origin[MAX_SERVER_NAME + 1];
	char	 key_id[MAX_KEY_ID + 1];
	char	 public_b64[MAX_PUBLIC_KEY_B64];
	int64_t	 valid_until;
} key_cache[XMKEYS_CACHE];
static size_t	 key_cache_next;

/*
 * Per origin, the last key fetch: after a failed one no fetch until
 * failed_until, after a good one none until fetched_until (a key id it
 * did not have is unknown meanwhile), both failure_ttl later; and no
 * origin is fetched twice in one request (request is the serial of the
 * verification that fetched).
 */
static struct key_origin {
	char		 origin[MAX_SERVER_NAME + 1];
	int64_t		 failed_until;
	int64_t		 fetched_until;
	unsigned long	 request;
} key_origins[XMKEYS_ORIGINS];
static size_t		 key_origins_next;
static unsigned long	 request_serial;

static enum http_res	 fetch_http(const char *, struct http_resp *);

static xmkeys_fetch_fn	 fetch_fn = fetch_http;
static xmkeys_clock_fn	 clock_fn = now_ms;

/* The real fetch: GET /_matrix/key/v2/server of origin. */
static enum http_res
fetch_http(const char *origin, struct http_resp *hr)
{
	return http_matrix_get(origin, "/_matrix/key/v2/server",
	    HTTP_CAP_KEYS, hr);
}

/*
 * Replaces how keys are fetched and what time it is (NULL: the real
 * ones).  For the unit tests.
 */
void
xmkeys_hooks(xmkeys_fetch_fn fetch, xmkeys_clock_fn clock)
{
	fetch_fn = fetch != NULL ? fetch : fetch_http;
	clock_fn = clock != NULL ? clock : now_ms;
}

/* Forgets every key and fetch. */
void
xmkeys_reset(void)
{
	memset(key_cache, 0, sizeof(key_cache));
	memset(key_origins, 0, sizeof(key_origins));
	key_cache_next = key_origins_next = 0;
}

/* Returns origin's row in key_origins, made (oldest replaced) if new. */
static struct key_origin *
key_origin(const char *origin)
{
	struct key_origin	*o;
	size_t			 i;

	for (i = 0; i < XMKEYS_ORIGINS; i++)
		if (strcmp(key_origins[i].origin, origin) == 0)
			return &key_origins[i];
	o = &key_origins[key_origins_next];
	key_origins_next = (key_origins_next + 1) % XMKEYS_ORIGINS;
	memset(o, 0, sizeof(*o));
	snprintf(o->origin, sizeof(o->origin), "%.*s", MAX_SERVER_NAME,
	    origin);
	return o;
}

/* Returns k's "key" in *pub when it is a usable verify key: 0 or -1. */
static int
verify_key(const cJSON *k, const char **pub)
{
	return json_get_str(k, "key", 43, MAX_PUBLIC_KEY_B64 - 1, pub) ==
	    JSON_OK && strlen(k->string) <= MAX_KEY_ID ? 0 : -1;
}

/*
 * Whether the key document doc of origin is signed by its own key
 * key_id, or when it lacks key_id by one of the keys it has.  Returns 0
 * (signed by key_id), 1 (self-signed, but key_id is not among its keys)
 * or -1 (not self-signed).
 */
static int
doc_self_signed(const cJSON *doc, const cJSON *vk, const char *origin,
    const char *key_id)
{
	const cJSON	*k;
	const char	*pub;

	if ((k = cJSON_GetObjectItemCaseSensitive(vk, key_id)) != NULL)
		return verify_key(k, &pub) == 0 && sign_verify_json(doc,
		    origin, key_id, pub) == 0 ? 0 : -1;
	for (k = vk->child; k != NULL; k = k->next)
		if (verify_key(k, &pub) == 0 && sign_verify_json(doc, origin,
		    k->string, pub) == 0)
			return 1;
	return -1;
}

/*
 * Fetches origin's keys and caches the current ones.  The answer must be
 * JSON for that server, with an integer valid_until_ts, and
 * self-signed (doc_self_signed).  Returns 0 (key_id cached), 1 (the
 * answer is good but lacks key_id), -1 (the fetch failed; logged) or
 * -2 (not made: every outbound slot was taken).
 */
static int
fetch_server_keys(const char *what, const char *origin, const char *key_id)
{
	struct http_resp	 hr = { 0, -1, { 0 } };
	cJSON			*doc = NULL;
	const cJSON		*vk, *k;
	const char		*name, *pub;
	int64_t			 until, now = clock_fn();
	struct server_key	*slot;
	enum http_res		 res;
	int			 rc = -1;

	if ((res = fetch_fn(origin, &hr)) != HTTP_OK) {
		log_warn("%s: %s key %s: key fetch failed: %s", what, origin,
		    key_id, http_res_str(res));
		if (res == HTTP_BUSY)
			rc = -2;
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
		log_warn("%s: %s key %s: key fetch failed: no usable keys "
		    "(HTTP %ld)", what, origin, key_id, hr.status);
		goto out;
	}
	if ((rc = doc_self_signed(doc, vk, origin, key_id)) == -1) {
		log_warn("%s: %s key %s: key fetch failed: the answer is "
		    "not self-signed", what, origin, key_id);
		goto out;
	}
	if (until > now + XMKEYS_CACHE_MAX_MS)
		until = now + XMKEYS_CACHE_MAX_MS;
	for (k = vk->child; k != NULL; k = k->next) {
		if (verify_key(k, &pub) == -1)
			continue;
		slot = &key_cache[key_cache_next];
		key_cache_next = (key_cache_next + 1) % XMKEYS_CACHE;
		snprintf(slot->origin, sizeof(slot->origin), "%.255s", origin);
		snprintf(slot->key_id, sizeof(slot->key_id), "%s", k->string);
		snprintf(slot->public_b64, sizeof(slot->public_b64), "%s", pub);
		slot->valid_until = until;
	}
out:
	cJSON_Delete(doc);
	http_resp_free(&hr);
	return rc;
}

/*
 * Returns origin's public key key_id (borrowed from the cache, valid
 * until the next call), from the cache or fetched, or NULL with *why
 * XM_KEY (no key could be had), XM_BUSY (no fetch could be made now) or
 * XM_INVALID (origin has no such key); logged with the prefix what.  No
 * fetch when one to origin failed (in any worker of the host) or
 * succeeded (in this one) less than failure_ttl seconds ago, or was made
 * in this verification already.
 */
static const char *
server_key(const char *what, const char *origin, const char *key_id,
    int64_t failure_ttl, enum xm_fail *why)
{
	struct key_origin	*o;
	struct outbound_memo	 memo = { 0, 1, "" };
	int64_t			 now = clock_fn();
	size_t			 i;
	int			 fetched = 0, rc;

	for (;;) {
		for (i = 0; i < XMKEYS_CACHE; i++)
			if (key_cache[i].valid_until > now &&
			    strcmp(key_cache[i].origin, origin) == 0 &&
			    strcmp(key_cache[i].key_id, key_id) == 0)
				return key_cache[i].public_b64;
		*why = XM_INVALID;
		if (fetched) {
			log_warn("%s: %s key %s: unknown key", what, origin,
			    key_id);
			return NULL;
		}
		o = key_origin(origin);
		if (o->failed_until <= now && failure_ttl > 0 &&
		    outbound_recall(OUTBOUND_KEY_FETCH, origin, &memo))
			o->failed_until = memo.expires_ms;	/* another's */
		if (o->failed_until > now) {
			metrics_count(METRICS_OUTBOUND_REMEMBERED);
			log_warn("%s: %s key %s: key fetch failed less than "
			    "%lld s ago; not tried again yet", what, origin,
			    key_id, (long long)failure_ttl);
			*why = XM_KEY;
			return NULL;
		}
		if (o->request == request_serial || o->fetched_until > now) {
			log_warn("%s: %s key %s: unknown key (not among "
			    "the keys fetched last)", what, origin, key_id);
			return NULL;
		}
		o->request = request_serial;
		if ((rc = fetch_server_keys(what, origin, key_id)) == -2) {
			o->request = 0;		/* not asked: may be later */
			*why = XM_BUSY;
			return NULL;
		}
		if (rc == -1) {
			o->failed_until = clock_fn() + failure_ttl * 1000;
			if (failure_ttl > 0) {
				memo.expires_ms = now_ms() + failure_ttl * 1000;
				outbound_remember(OUTBOUND_KEY_FETCH, origin,
				    &memo);
			}
			*why = XM_KEY;
			return NULL;
		}
		o->fetched_until = clock_fn() + failure_ttl * 1000;
		fetched = 1;
	}
}

/*
 * Verifies cred's signature over {method, uri, origin, <dest_key>: our
 * name, content} with the public key pub.  Returns 0 or -1.
 */
static int
cred_verify(const struct xmkeys_req *req, const struct xmatrix *cred,
    const char *dest_key, const char *pub)
{
	cJSON	*signed_req;
	int	 rc;

	signed_req = cJSON_CreateObject();
	cJSON_AddStringToObject(signed_req, "method", req->method);
	cJSON_AddStringToObject(signed_req, "uri", req->uri);
	cJSON_AddStringToObject(signed_req, "origin", cred->origin);
	cJSON_AddStringToObject(signed_req, dest_key, req->server_name);
	if (req->content != NULL)
		cJSON_AddItemToObject(signed_req, "content",
		    cJSON_Duplicate(req->content, 1));
	cJSON_AddItemToObject(cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(signed_req, "signatures"), cred->origin),
	    cred->key, cJSON_CreateString(cred->sig));
	rc = sign_verify_json(signed_req, cred->origin, cred->key, pub);
	cJSON_Delete(signed_req);
	return rc;
}

/*
 * A destination that is not us denies the request (server-server API),
 * before any key is fetched.  Returns 0, or -1 (logged).
 */
static int
destinations_ok(const struct xmkeys_req *req, const struct xmatrix *creds,
    int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (creds[i].destination[0] != '\0' &&
		    strcmp(creds[i].destination, req->server_name) != 0) {
			if (ident_server_name_valid(creds[i].origin) &&
			    ident_key_id_valid(creds[i].key))
				log_warn("%s: %s key %s: destination "
				    "mismatch", req->what, creds[i].origin,
				    creds[i].key);
			else
				log_warn("%s: destination mismatch",
				    req->what);
			return -1;
		}
	return 0;
}

/*
 * Checks the X-Matrix credentials of req: a signature over {method,
 * uri, origin, destination, content} as the server-server spec has it,
 * or with destination_is instead of destination as Synapse signs.
 * creds has room for XMATRIX_MAX_CREDENTIALS.  Returns the verified
 * origin (borrowed from creds), or NULL with *why the worst reason a
 * credential failed (logged, without signature or body).
 */
const char *
xmkeys_verify(const struct xmkeys_req *req, struct xmatrix *creds,
    enum xm_fail *why)
{
	const char	*pub;
	enum xm_fail	 f;
	int		 n, i;

	*why = XM_INVALID;
	request_serial++;
	if (req->uri == NULL || req->authorization == NULL ||
	    (n = xmatrix_parse(req->authorization, creds,
	    XMATRIX_MAX_CREDENTIALS)) == -1) {
		log_warn("%s: a malformed X-Matrix header", req->what);
		return NULL;
	}
	if (destinations_ok(req, creds, n) == -1) {
		*why = XM_DESTINATION;
		return NULL;
	}
	*why = XM_NONE;
	for (i = 0; i < n; i++) {
		if (!ident_server_name_valid(creds[i].origin) ||
		    !ident_key_id_valid(creds[i].key)) {
			log_warn("%s: an X-Matrix credential with an "
			    "invalid origin or key id", req->what);
			f = XM_INVALID;
		} else if ((pub = server_key(req->what,
		    creds[i].origin, creds[i].key, req->failure_ttl, &f)) ==
		    NULL)
			;	/* f says why */
		else if (cred_verify(req, &creds[i], "destination", pub) ==
		    0 || cred_verify(req, &creds[i], "destination_is", pub) ==
		    0)
			return creds[i].origin;
		else {
			log_warn("%s: %s key %s: bad signature", req->what,
			    creds[i].origin, creds[i].key);
			f = XM_INVALID;
		}
		if (f > *why)
			*why = f;
	}
	return NULL;
}
