/*
 * sigil-internal: the operator's bind API, for provisioning systems that
 * vouch for a 3PID themselves (no validation session).
 *
 * POST /_matrix/identity/internal/bind {medium, address, mxid} publishes
 * the binding as a validated bind does (common/publish.h: signed,
 * recorded, onbind queued with the 3PID's pending invites) and answers
 * the signed association, as 3pid/bind does.
 * POST /_matrix/identity/internal/unbind {medium, address, mxid} removes
 * the binding of that 3PID to that user ID, if there is one; {}.
 *
 * Never public: the web front passes these paths only from the
 * operator's addresses, and this program answers a POST from a client
 * outside internal_api_clients (loopback by default) as the front
 * answers a path that does not exist: 404 M_UNRECOGNIZED.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "bounds.h"
#include "db.h"
#include "fcgi.h"
#include "ident.h"
#include "json.h"
#include "netrange.h"
#include "publish.h"
#include "req.h"
#include "resp.h"
#include "threepid.h"
#include "util.h"

/* The longest medium we know ("msisdn"), with room to spare. */
#define MAX_MEDIUM	16

/* The request's 3PID, canonical, and user ID. */
struct internal_args {
	const char	*medium;		/* borrowed from the body */
	const char	*mxid;			/* borrowed from the body */
	char		 address[THREEPID_MAX_ADDRESS];
};

/*
 * Reads {medium, address, mxid} of the request r into a, the address
 * through the address rule and the user ID checked; *body holds the
 * parsed body (caller deletes it, also on failure).  Returns 0, or -1
 * with the error in rs: 404 for a client outside internal_api_clients,
 * 400 for a bad body.
 */
static int
internal_args(const struct ctx *c, const struct req *r, cJSON **body,
    struct internal_args *a, struct resp *rs)
{
	const char	*address;

	*body = NULL;
	if (!netrange_list_has(c->cfg.internal_api_clients,
	    c->cfg.n_internal_api_clients, r->remote_addr)) {
		resp_err(rs, MX_UNRECOGNIZED, NULL);
		return -1;
	}
	if (req_json(r, body, rs) == -1 ||
	    req_field_ok(rs, json_get_str(*body, "medium", 1, MAX_MEDIUM,
	    &a->medium), "medium") == -1 ||
	    req_field_ok(rs, json_get_str(*body, "address", 1,
	    THREEPID_MAX_ADDRESS - 1, &address), "address") == -1 ||
	    req_field_ok(rs, json_get_str(*body, "mxid", 1, MAX_USER_ID,
	    &a->mxid), "mxid") == -1)
		return -1;
	if (strcmp(a->medium, "email") != 0 &&
	    strcmp(a->medium, "msisdn") != 0) {
		resp_err(rs, MX_UNRECOGNIZED_MEDIUM, NULL);
		return -1;
	}
	if (threepid_canonical(a->medium, address, a->address,
	    sizeof(a->address)) == -1) {
		if (strcmp(a->medium, "email") == 0)
			resp_err(rs, MX_INVALID_EMAIL, NULL);
		else
			resp_err(rs, MX_INVALID_ADDRESS, NULL);
		return -1;
	}
	if (!ident_user_id_valid(a->mxid)) {
		resp_err(rs, MX_INVALID_PARAM, "mxid is not a valid user ID");
		return -1;
	}
	return 0;
}

/* POST internal/bind: the signed association. */
static void
h_bind(struct ctx *c, const struct req *r, struct resp *rs)
{
	struct internal_args	 a;
	cJSON			*body, *assoc = NULL;

	if (internal_args(c, r, &body, &a, rs) == -1)
		goto out;
	if (binding_publish(c, a.medium, a.address, a.mxid, now_ms(),
	    &assoc) == -1) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	resp_json(rs, 200, assoc);
out:
	cJSON_Delete(assoc);
	cJSON_Delete(body);
}

/* POST internal/unbind: {}. */
static void
h_unbind(struct ctx *c, const struct req *r, struct resp *rs)
{
	struct internal_args	 a;
	cJSON			*body;

	if (internal_args(c, r, &body, &a, rs) == -1)
		goto out;
	if (db_unbind(c->db, a.medium, a.address, a.mxid) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	resp_json_text(rs, 200, "{}");
out:
	cJSON_Delete(body);
}

static const struct route routes[] = {
	{ METHOD_POST, API_ROOT, "internal/bind", h_bind, AUTH_NONE },
	{ METHOD_POST, API_ROOT, "internal/unbind", h_unbind, AUTH_NONE },
};

static const struct app internal_app = {
	"sigil-internal", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .key = &app_key },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&internal_app, argc, argv);
}
