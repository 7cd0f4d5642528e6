/*
 * sigil-bind: POST 3pid/bind {sid, client_secret, mxid} publishes a
 * binding between the 3PID a validated session proved and a user ID, and
 * answers the signed association.  A 3PID binds to one user ID; binding
 * again replaces.  On v2 the user ID must be the token's user.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "db.h"
#include "fcgi.h"
#include "ident.h"
#include "json.h"
#include "bounds.h"
#include "req.h"
#include "resp.h"
#include "sign.h"
#include "threepid.h"
#include "util.h"

/* As the validation program: a session lives 24 h from its last change. */
#define SESSION_LIFETIME_MS	(24LL * 3600 * 1000)

/* POST 3pid/bind. */
static void
h_bind(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *assoc = NULL;
	const char		*sid, *secret, *mxid;
	char			 cs_hash[SHA256_HEX_LEN + 1];
	struct db_session	 s;
	enum db_res		 rc;
	int64_t			 now = now_ms();

	memset(&s, 0, sizeof(s));
	if (req_args(r, &args, rs) == -1 ||
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
	if (s.modified_ts + SESSION_LIFETIME_MS < now) {
		resp_err(rs, MX_SESSION_EXPIRED, NULL);
		goto out;
	}
	if (s.validated_ts == 0) {
		resp_err(rs, MX_SESSION_NOT_VALIDATED, NULL);
		goto out;
	}
	if (db_bind(c->db, s.medium, s.address, mxid, now,
	    now + THREEPID_VALIDITY_MS) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	assoc = threepid_association(s.medium, s.address, mxid, now, now,
	    now + THREEPID_VALIDITY_MS);
	if (sign_json(c->key, c->cfg.server_name, assoc) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	resp_json(rs, 200, assoc);
out:
	cJSON_Delete(assoc);
	db_session_clear(&s);
	cJSON_Delete(args);
}

static const struct route routes[] = {
	{ METHOD_POST, API_V1 | API_V2, "3pid/bind", h_bind, AUTH_USER },
};

static const struct app bind_app = {
	"sigil-bind", APP_NEEDS_DB, routes, sizeof(routes) / sizeof(routes[0]),
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&bind_app, argc, argv);
}
