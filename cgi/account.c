/*
 * sigil-account: v2 accounts and terms of service.
 *
 * POST account/register trades an OpenID token from the user's homeserver
 * for an access token of ours: the homeserver is found by server discovery
 * and asked who the token belongs to (federation openid/userinfo); the
 * user must be on exactly that server.  The access token (256 random
 * bits) is stored only as its SHA-256.  GET account names the token's
 * user; POST account/logout ends the token.  GET terms lists the policies;
 * POST terms records acceptance.  Unknown URLs in POST terms are 400
 * M_INVALID_PARAM, and nothing of that request is recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "b64.h"
#include "buf.h"
#include "db.h"
#include "fcgi.h"
#include "http.h"
#include "ident.h"
#include "json.h"
#include "bounds.h"
#include "log.h"
#include "req.h"
#include "resp.h"
#include "terms.h"
#include "secret.h"
#include "util.h"

/* An OpenID access token, as homeservers make them, fits easily. */
#define MAX_OPENID_TOKEN	1024

/* Terms URLs accepted in one request. */
#define MAX_ACCEPTS		64

static void
reply_empty(struct resp *rs)
{
	resp_json_text(rs, 200, "{}");
}

static int
homeserver_allowed(const struct cfg *cfg, const char *server)
{
	size_t	 i;

	if (cfg->n_homeserver_allow == 0)
		return 1;
	for (i = 0; i < cfg->n_homeserver_allow; i++)
		if (strcmp(cfg->homeserver_allow[i], server) == 0)
			return 1;
	return 0;
}

/*
 * Asks server who the OpenID token belongs to.  Returns the user ID
 * (caller frees), or NULL with the error response set; 503 with a
 * Retry-After of budget_s when every outbound slot is taken.
 */
static char *
openid_user(const char *server, const char *openid_token, int64_t budget_s,
    struct resp *rs)
{
	struct http_resp	 hr = { 0, -1, { 0 } };
	struct buf		 path = { 0 };
	enum http_res		 res;
	cJSON			*doc = NULL;
	const char		*sub;
	char			*user = NULL;

	buf_puts(&path, "/_matrix/federation/v1/openid/userinfo?access_token=");
	buf_put_urlencoded(&path, openid_token);
	res = http_matrix_get(server, buf_str(&path), HTTP_CAP_USERINFO, &hr);
	if (res == HTTP_BUSY) {
		resp_busy(rs, (int)budget_s, "Too many calls to homeservers "
		    "at once");
		goto out;
	}
	if (res != HTTP_OK) {
		resp_err(rs, MX_BAD_GATEWAY, "Could not get the user from the "
		    "homeserver: %s", http_res_str(res));
		goto out;
	}
	if (hr.status == 401 || hr.status == 403 || hr.status == 404) {
		resp_err(rs, MX_UNAUTHORIZED, "The homeserver did not accept "
		    "the OpenID token");
		goto out;
	}
	if (hr.status != 200) {
		resp_err(rs, MX_BAD_GATEWAY, "The homeserver answered HTTP %ld",
		    hr.status);
		goto out;
	}
	if (json_parse_object(buf_str(&hr.body), hr.body.len, &doc) !=
	    JSON_PARSE_OK ||
	    json_get_str(doc, "sub", 1, MAX_USER_ID, &sub) != JSON_OK ||
	    !ident_user_id_valid(sub)) {
		resp_err(rs, MX_BAD_GATEWAY, "The homeserver did not name a "
		    "valid user");
		goto out;
	}
	if (strcmp(ident_user_id_server(sub), server) != 0) {
		log_warn("register: %s vouched for a user on another server",
		    server);
		resp_err(rs, MX_NOT_ALLOWED, "The homeserver named a user on "
		    "another server");
		goto out;
	}
	user = xstrdup(sub);
out:
	cJSON_Delete(doc);
	buf_free(&path);
	http_resp_free(&hr);
	return user;
}

/* POST /v2/account/register. */
static void
h_register(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON		*body = NULL, *o = NULL;
	const char	*openid_token, *token_type, *server;
	char		*user = NULL, token[64], hash[SHA256_HEX_LEN + 1];
	unsigned char	 raw[32];
	int64_t		 expires_in, now, expires = 0;

	if (req_json(r, &body, rs) == -1)
		goto out;
	if (req_field_ok(rs, json_get_str(body, "access_token", 1,
	    MAX_OPENID_TOKEN, &openid_token), "access_token") == -1 ||
	    req_field_ok(rs, json_get_str(body, "token_type", 1, 64,
	    &token_type), "token_type") == -1 ||
	    req_field_ok(rs, json_get_str(body, "matrix_server_name", 1,
	    MAX_SERVER_NAME, &server), "matrix_server_name") == -1 ||
	    req_field_ok(rs, json_get_int(body, "expires_in", 0, JSON_INT_MAX,
	    &expires_in), "expires_in") == -1)
		goto out;
	if (strcmp(token_type, "Bearer") != 0) {
		resp_err(rs, MX_INVALID_PARAM, "token_type must be Bearer");
		goto out;
	}
	if (!ident_server_name_valid(server)) {
		resp_err(rs, MX_INVALID_PARAM, "matrix_server_name is not a "
		    "valid server name");
		goto out;
	}
	if (!homeserver_allowed(&c->cfg, server)) {
		resp_err(rs, MX_NOT_ALLOWED, "This identity server does not "
		    "serve users of that homeserver");
		goto out;
	}
	if ((user = openid_user(server, openid_token,
	    c->cfg.http_budget, rs)) == NULL)
		goto out;

	if (random_bytes(raw, sizeof(raw)) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	b64_encode(raw, sizeof(raw), B64_URLSAFE, token, sizeof(token));
	secure_wipe(raw, sizeof(raw));
	sha256_hex(token, strlen(token), hash);
	now = now_ms();
	if (c->cfg.token_lifetime > 0)
		expires = now + c->cfg.token_lifetime * 1000;
	if (db_account_register(c->db, hash, user, now, expires) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "token", token);
	cJSON_AddStringToObject(o, "access_token", token);
	resp_json(rs, 200, o);
	log_info("registered a token for %s", user);
out:
	secure_wipe(token, sizeof(token));
	cJSON_Delete(o);
	cJSON_Delete(body);
	free(user);
}

/* GET /v2/account: {"user_id"}. */
static void
h_account(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON	*o;

	(void)c;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "user_id", r->user_id);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

/* POST /v2/account/logout: the token stops working at once. */
static void
h_logout(struct ctx *c, const struct req *r, struct resp *rs)
{
	if (db_token_delete(c->db, r->token_hash) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return;
	}
	reply_empty(rs);
}

/* GET /v2/terms: the policies, as loaded at start. */
static void
h_terms_get(struct ctx *c, const struct req *r, struct resp *rs)
{
	(void)r;
	resp_json_text(rs, 200, c->terms.response);
}

/*
 * POST /v2/terms {"user_accepts": [url, ...]} (a single string is taken
 * too): adds to what the user accepted.
 */
static void
h_terms_post(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON		*body = NULL;
	const cJSON	*accepts, *item;
	const char	*keys[MAX_ACCEPTS], *urls[MAX_ACCEPTS], *key;
	size_t		 n = 0;

	if (req_json(r, &body, rs) == -1)
		goto out;
	accepts = cJSON_GetObjectItemCaseSensitive(body, "user_accepts");
	if (accepts == NULL || cJSON_IsNull(accepts)) {
		resp_err(rs, MX_MISSING_PARAMS, "Missing user_accepts");
		goto out;
	}
	if (cJSON_IsString(accepts))
		item = accepts;
	else if (cJSON_IsArray(accepts))
		item = accepts->child;
	else {
		resp_err(rs, MX_INVALID_PARAM, "user_accepts must be a list "
		    "of URLs");
		goto out;
	}
	for (; item != NULL; item = cJSON_IsString(accepts) ? NULL :
	    item->next) {
		if (!cJSON_IsString(item)) {
			resp_err(rs, MX_INVALID_PARAM, "user_accepts must be "
			    "a list of URLs");
			goto out;
		}
		if (n >= MAX_ACCEPTS) {
			resp_err(rs, MX_INVALID_PARAM, "More than %d URLs",
			    MAX_ACCEPTS);
			goto out;
		}
		if ((key = terms_key_for_url(&c->terms, item->valuestring)) ==
		    NULL) {
			resp_err(rs, MX_INVALID_PARAM, "user_accepts holds a "
			    "URL that is not one of the current terms");
			goto out;
		}
		keys[n] = key;
		urls[n++] = item->valuestring;
	}
	if (n > 0 && db_terms_accept(c->db, r->user_id, keys, urls, n,
	    now_ms()) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	reply_empty(rs);
out:
	cJSON_Delete(body);
}

static const struct route routes[] = {
	{ METHOD_POST, API_V2, "account/register", h_register, AUTH_NONE },
	{ METHOD_GET, API_V2, "account", h_account, AUTH_USER },
	{ METHOD_POST, API_V2, "account/logout", h_logout,
	    AUTH_USER_ANY_TERMS },
	{ METHOD_GET, API_V2, "terms", h_terms_get, AUTH_NONE },
	{ METHOD_POST, API_V2, "terms", h_terms_post, AUTH_USER_ANY_TERMS },
};

static const struct app account_app = {
	"sigil-account", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .http = &app_http },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&account_app, argc, argv);
}
