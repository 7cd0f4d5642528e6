/*
 * sigil-pubkey: the server's public keys and the validity checks that
 * homeservers make on third-party invites.
 *
 * GET pubkey/{keyId} serves the signing key and the older keys listed as
 * old_key; a revoked key is not served (404), so that nobody fetches a
 * compromised key from us.  GET pubkey/isvalid is true for the signing key
 * and the old keys, false for revoked and unknown ones.  GET
 * pubkey/ephemeral/isvalid looks up invite keys in the database.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "b64.h"
#include "db.h"
#include "fcgi.h"
#include "bounds.h"
#include "req.h"
#include "resp.h"
#include "ident.h"
#include "sign.h"
#include "util.h"

/*
 * Returns the published public key (standard unpadded base64) with id,
 * borrowed from the context, or NULL when there is none.
 */
static const char *
published_key_by_id(const struct ctx *c, const char *id)
{
	size_t	 i;

	if (strcmp(c->key->id, id) == 0)
		return c->key->public_b64;
	for (i = 0; i < c->cfg.n_old_keys; i++)
		if (strcmp(c->cfg.old_keys[i].id, id) == 0)
			return c->cfg.old_keys[i].public_b64;
	return NULL;
}

/* Returns 1 when the standard base64 key pub is the signing or an old key. */
static int
public_key_in_use(const struct ctx *c, const char *pub)
{
	size_t	 i;

	if (strcmp(c->key->public_b64, pub) == 0)
		return 1;
	for (i = 0; i < c->cfg.n_old_keys; i++)
		if (strcmp(c->cfg.old_keys[i].public_b64, pub) == 0)
			return 1;
	return 0;
}

static void
reply_valid(struct resp *rs, int valid)
{
	cJSON	*o;

	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "valid", valid);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

/* GET pubkey/{keyId}: {"public_key": "<base64>"} or 404 M_NOT_FOUND. */
static void
h_pubkey(struct ctx *c, const struct req *r, struct resp *rs)
{
	const char	*pub;
	cJSON		*o;

	if (!ident_key_id_valid(r->path_arg) ||
	    (pub = published_key_by_id(c, r->path_arg)) == NULL) {
		resp_err(rs, MX_NOT_FOUND, "The public key was not found");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "public_key", pub);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

/*
 * GET pubkey/isvalid?public_key=: any base64 spelling of the key counts
 * (padded, URL-safe), since the bytes are what identify it.
 */
static void
h_isvalid(struct ctx *c, const struct req *r, struct resp *rs)
{
	const char	*pub;
	unsigned char	 raw[ED25519_PUBLIC_LEN + 3];
	char		 std[MAX_PUBLIC_KEY_B64];
	size_t		 rawlen;

	if ((pub = req_query(r, "public_key")) == NULL) {
		resp_err(rs, MX_MISSING_PARAMS, "Missing public_key");
		return;
	}
	if (b64_decode(pub, strlen(pub), raw, sizeof(raw), &rawlen) == -1 ||
	    rawlen != ED25519_PUBLIC_LEN) {
		reply_valid(rs, 0);
		return;
	}
	b64_encode(raw, rawlen, B64_STANDARD, std, sizeof(std));
	reply_valid(rs, public_key_in_use(c, std));
}

/* GET pubkey/ephemeral/isvalid?public_key=: exact match in the database. */
static void
h_ephemeral_isvalid(struct ctx *c, const struct req *r, struct resp *rs)
{
	const char	*pub;

	if ((pub = req_query(r, "public_key")) == NULL) {
		resp_err(rs, MX_MISSING_PARAMS, "Missing public_key");
		return;
	}
	if (strlen(pub) > MAX_PUBLIC_KEY_B64) {
		reply_valid(rs, 0);
		return;
	}
	switch (db_ephemeral_key_exists(c->db, pub, now_ms())) {
	case DB_OK:
		reply_valid(rs, 1);
		break;
	case DB_NOTFOUND:
		reply_valid(rs, 0);
		break;
	case DB_CONFLICT:
	case DB_ERROR:
		resp_err(rs, MX_UNAVAILABLE, NULL);
		break;
	}
}

static const struct route routes[] = {
	{ METHOD_GET, API_V1 | API_V2, "pubkey/isvalid", h_isvalid, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "pubkey/ephemeral/isvalid",
	    h_ephemeral_isvalid, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "pubkey/*", h_pubkey, AUTH_NONE },
};

static const struct app pubkey_app = {
	"sigil-pubkey", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .key = &app_key },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&pubkey_app, argc, argv);
}
