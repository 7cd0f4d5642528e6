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
 * homeserver that owns mxid (common/xmkeys verifies it).
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
#include "ident.h"
#include "log.h"
#include "json.h"
#include "publish.h"
#include "bounds.h"
#include "req.h"
#include "resp.h"
#include "session.h"
#include "threepid.h"
#include "util.h"
#include "xmkeys.h"

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
	if (binding_publish(c, s.medium, s.address, mxid, now, &assoc) ==
	    -1) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	resp_json(rs, 200, assoc);
out:
	cJSON_Delete(assoc);
	db_session_clear(&s);
	cJSON_Delete(args);
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
	} else if ((origin = xmkeys_verify(&(struct xmkeys_req){
	    .what = "unbind", .authorization = r->authorization,
	    .method = "POST", .uri = r->request_uri,
	    .server_name = c->cfg.server_name, .content = body,
	    .failure_ttl = c->cfg.http_key_failure_ttl }, creds, &why)) ==
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
		else if (why == XM_BUSY)
			resp_busy(rs, (int)c->cfg.http_budget, "Too many "
			    "calls to homeservers at once");
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
