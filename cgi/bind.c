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
#include "bounds.h"
#include "req.h"
#include "resp.h"
#include "session.h"
#include "sign.h"
#include "threepid.h"
#include "util.h"
#include "xmkeys.h"

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
