/*
 * Unit tests for the dispatcher (app_dispatch, common/app.c): API
 * prefixes, exact and one-segment routes, 404 against 405, OPTIONS,
 * enable_v1 and API_V1_ALWAYS, a malformed query string, and the v2
 * gate's answer to a request without a token.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "req.h"
#include "resp.h"
#include "tap.h"

static const char	*called;	/* the handler that ran, or NULL */

/* Handler name ran for r: answers 200. */
static void
hit(const char *name, const struct req *r, struct resp *rs)
{
	(void)r;
	called = name;
	resp_json_text(rs, 200, "{}");
}

static void
h_a(struct ctx *c, const struct req *r, struct resp *rs)
{
	(void)c;
	hit("a", r, rs);
}

static void
h_b(struct ctx *c, const struct req *r, struct resp *rs)
{
	(void)c;
	hit("b", r, rs);
}

static const struct route routes[] = {
	{ METHOD_GET, API_V1 | API_V2, "", h_a, AUTH_NONE },
	{ METHOD_GET, API_V2, "terms", h_a, AUTH_NONE },
	{ METHOD_POST, API_V2, "terms", h_b, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "pubkey/*", h_b, AUTH_NONE },
	{ METHOD_GET, API_V1, "lookup", h_a, AUTH_NONE },
	{ METHOD_POST, API_V1 | API_V2 | API_V1_ALWAYS, "sign-ed25519", h_b,
	    AUTH_NONE },
	{ METHOD_GET, API_ROOT, "versions", h_a, AUTH_NONE },
	{ METHOD_GET, API_OPS, "status", h_b, AUTH_NONE },
	{ METHOD_POST, API_V2, "account/logout", h_b, AUTH_USER_ANY_TERMS },
};

static const struct app app = {
	"sigil-router-test", routes, sizeof(routes) / sizeof(routes[0]),
	{ 0 },
};

static struct ctx	 ctx;
static struct req	 r;
static struct resp	 rs;

/*
 * Dispatches method path?query (query NULL: none).  Returns the status;
 * rs, r and called hold the rest until the next call.
 */
static int
dispatch(enum http_method method, const char *path, const char *query)
{
	req_free(&r);
	resp_free(&rs);
	memset(&rs, 0, sizeof(rs));
	called = NULL;
	r.method = method;
	r.path = strdup(path);
	r.query_string = strdup(query != NULL ? query : "");
	app_dispatch(&app, &ctx, &r, &rs);
	return rs.status;
}

/* Whether the response's body holds s. */
static int
body_has(const char *s)
{
	return strstr(buf_str(&rs.body), s) != NULL;
}

/* Requests whose status alone is checked (enable_v1 on). */
static const struct {
	enum http_method method;
	const char	*path;
	int		 status;
	const char	*what;
} plain[] = {
	{ METHOD_GET, "/_matrix/identity/v2/", 404,
	    "v2 with a bare slash: not the root" },
	{ METHOD_GET, "/_matrix/identity/v2/lookup", 404,
	    "a v1-only route is not on v2" },
	{ METHOD_GET, "/_matrix/identity/v3/terms", 404,
	    "an unknown version" },
	{ METHOD_GET, "/_sigil/versions", 404,
	    "a route of another API is not under /_sigil/" },
	{ METHOD_GET, "/elsewhere/v2/terms", 404,
	    "a path outside the prefixes" },
	{ METHOD_GET, "/_matrix/identity/v2terms", 404,
	    "a prefix that runs into the rest" },
	{ METHOD_PUT, "/_matrix/identity/v2/nothing", 404,
	    "an unknown path with any method: 404" },
	{ METHOD_OPTIONS, "/_matrix/identity/v2/nothing", 404,
	    "OPTIONS on an unknown path: 404" },
	{ METHOD_OPTIONS, "/_matrix/identity/api/v1/terms", 404,
	    "OPTIONS on a path only another API has: 404" },
	{ METHOD_GET, "/_matrix/identity/api/v1/pubkey/k", 200,
	    "a segment route on v1 too" },
	{ METHOD_GET, "/_matrix/identity/v2/pubkey/", 404,
	    "an empty segment: 404" },
	{ METHOD_GET, "/_matrix/identity/v2/pubkey", 404, "no segment: 404" },
	{ METHOD_GET, "/_matrix/identity/v2/pubkey/a/b", 404,
	    "two segments: 404" },
	{ METHOD_GET, "/_matrix/identity/v2/pubkeyx/a", 404,
	    "a longer first segment: 404" },
	{ METHOD_POST, "/_matrix/identity/v2/pubkey/a", 405,
	    "another method on a segment route: 405" },
	{ METHOD_POST, "/_matrix/identity/api/v1/sign-ed25519", 200,
	    "an API_V1_ALWAYS route with v1 on" },
};

/* Requests answered 200 by a handler, and the API they are routed to. */
static const struct {
	const char	*path;
	enum api	 api;
} apis[] = {
	{ "/_matrix/identity/v2", API_V2 },
	{ "/_matrix/identity/api/v1", API_V1 },
	{ "/_matrix/identity/versions", API_ROOT },
	{ "/_sigil/status", API_OPS },
};

int
main(void)
{
	size_t	 i;

	ctx.cfg.enable_v1 = 1;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		is_int(dispatch(plain[i].method, plain[i].path, NULL),
		    plain[i].status, "%s", plain[i].what);
	for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
		ok(dispatch(METHOD_GET, apis[i].path, NULL) == 200 &&
		    called != NULL && r.api == apis[i].api, "%s: routed, API "
		    "%d", apis[i].path, (int)apis[i].api);

	/* Exact routes, 404 against 405, OPTIONS. */
	is_int(dispatch(METHOD_GET, "/_matrix/identity/v2/terms", NULL), 200,
	    "v2 terms");
	is_str(called, "a", "GET terms ran its handler");
	is_str(r.route, "terms", "route set");
	ok(r.path_arg == NULL, "an exact route has no argument");
	is_int(dispatch(METHOD_GET, "/_matrix/identity/api/v1/terms", NULL),
	    404, "a v2-only route is not on v1");
	ok(called == NULL && body_has("M_UNRECOGNIZED"), "404 M_UNRECOGNIZED, "
	    "no handler");
	is_int(dispatch(METHOD_POST, "/_matrix/identity/v2/terms", NULL), 200,
	    "POST terms");
	is_str(called, "b", "the POST route's handler");
	is_int(dispatch(METHOD_DELETE, "/_matrix/identity/v2/terms", NULL),
	    405, "a known path, another method: 405");
	ok(called == NULL && body_has("M_UNRECOGNIZED"), "405 says "
	    "M_UNRECOGNIZED");
	is_int(dispatch(METHOD_OPTIONS, "/_matrix/identity/v2/terms", NULL),
	    200, "OPTIONS on a known path: 200");
	ok(called == NULL && strcmp(buf_str(&rs.body), "{}") == 0,
	    "{} without the handler");

	/* One-segment routes "x/ *". */
	is_int(dispatch(METHOD_GET, "/_matrix/identity/v2/pubkey/ed25519:0",
	    NULL), 200, "pubkey/<id>");
	is_str(r.path_arg, "ed25519:0", "the segment is the argument");
	is_str(r.route, "pubkey/*", "the route is the pattern");

	/* v1 switched off, but for API_V1_ALWAYS. */
	ctx.cfg.enable_v1 = 0;
	is_int(dispatch(METHOD_GET, "/_matrix/identity/api/v1/lookup", NULL),
	    404, "enable_v1 off: a v1 route is gone");
	is_int(dispatch(METHOD_OPTIONS, "/_matrix/identity/api/v1/lookup",
	    NULL), 404, "and OPTIONS on it too");
	is_int(dispatch(METHOD_GET, "/_matrix/identity/api/v1", NULL), 404,
	    "and the v1 root");
	is_int(dispatch(METHOD_GET, "/_matrix/identity/v2", NULL), 200,
	    "v2 still served");
	is_int(dispatch(METHOD_POST, "/_matrix/identity/api/v1/sign-ed25519",
	    NULL), 200, "API_V1_ALWAYS: served on v1 anyway");
	is_int(dispatch(METHOD_GET, "/_matrix/identity/api/v1/sign-ed25519",
	    NULL), 405, "with its methods only");
	ctx.cfg.enable_v1 = 1;

	/* The query string. */
	is_int(dispatch(METHOD_GET, "/_matrix/identity/v2/terms", "a=1&b=%41"),
	    200, "a query string is parsed");
	is_str(req_query(&r, "b"), "A", "and decoded");
	is_int(dispatch(METHOD_GET, "/_matrix/identity/v2/terms", "a=%zz"),
	    400, "a malformed one: 400");
	ok(called == NULL && body_has("M_INVALID_PARAM"), "M_INVALID_PARAM, "
	    "no handler");

	/* The v2 gate, before anything else, without a token. */
	is_int(dispatch(METHOD_POST, "/_matrix/identity/v2/account/logout",
	    NULL), 401, "a gated route without a token: 401");
	ok(called == NULL && body_has("M_UNAUTHORIZED"), "M_UNAUTHORIZED, "
	    "no handler");
	is_int(dispatch(METHOD_POST, "/_matrix/identity/v2/account/logout",
	    "a=%zz"), 401, "the gate before the malformed query");

	req_free(&r);
	resp_free(&rs);
	return done_testing();
}
