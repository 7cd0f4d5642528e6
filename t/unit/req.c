/*
 * Unit tests for common/req and the dispatcher in common/app: query and
 * form parsing, JSON bodies, routing to handlers, 404, 405, OPTIONS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "req.h"
#include "resp.h"
#include "tap.h"
#include "util.h"

static int	 hits;

static void
h_any(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON	*o = cJSON_CreateObject();

	(void)c;
	hits++;
	cJSON_AddStringToObject(o, "arg", r->path_arg ? r->path_arg : "");
	cJSON_AddNumberToObject(o, "api", r->api);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

static const struct route routes[] = {
	{ METHOD_GET, API_V1 | API_V2, "pubkey/isvalid", h_any, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "pubkey/*", h_any, AUTH_NONE },
	{ METHOD_POST, API_V2, "lookup", h_any, AUTH_NONE },
	{ METHOD_GET, API_ROOT, "versions", h_any, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "", h_any, AUTH_NONE },
	{ METHOD_POST, API_V1 | API_V2 | API_V1_ALWAYS, "sign", h_any,
	    AUTH_NONE },
};
static const struct app test_app = { "test", routes,
    sizeof(routes) / sizeof(routes[0]), { 0 } };

/* Dispatches method path?query; returns the status, body in *body. */
static int
dispatch(struct ctx *c, enum http_method m, const char *path,
    const char *query, char **body)
{
	struct req	 r;
	struct resp	 rs;
	int		 status;

	memset(&r, 0, sizeof(r));
	memset(&rs, 0, sizeof(rs));
	r.method = m;
	r.path = xstrdup(path);
	r.query_string = xstrdup(query);
	app_dispatch(&test_app, c, &r, &rs);
	status = rs.status;
	*body = xstrdup(buf_str(&rs.body));
	req_free(&r);
	resp_free(&rs);
	return status;
}

static int
params_fail(const char *s)
{
	struct params	 p;

	memset(&p, 0, sizeof(p));
	if (req_params_parse(s, strlen(s), &p) == 0) {
		req_params_free(&p);
		return 0;
	}
	return p.n == 0;	/* freed on failure */
}

/*
 * Whether req_cgi_path() makes want (with max MAX_PATH) of DOCUMENT_URI
 * du, REDIRECT_URL ru, SCRIPT_NAME sn and PATH_INFO pi; says what it made
 * otherwise.
 */
static int
cgi_path(const char *du, const char *ru, const char *sn, const char *pi,
    const char *want, const char *name)
{
	char	*p = req_cgi_path(du, ru, sn, pi, MAX_PATH);
	int	 rc = is_str(p, want, "%s", name);

	free(p);
	return rc;
}

int
main(void)
{
	struct params	 p;
	struct ctx	 c;
	struct req	 r;
	struct resp	 rs;
	cJSON		*o = NULL;
	char		*body, many[2048];
	int		 i;

	memset(&p, 0, sizeof(p));
	ok(req_params_parse("a=1&b=x+y%21&c=&d&&e=%C3%A9", 27, &p) == 0,
	    "a query string parses");
	is_int((long long)p.n, 5, "five pairs");
	is_str(req_params_get(&p, "a"), "1", "a=1");
	is_str(req_params_get(&p, "b"), "x y!", "+ and %%21 decoded");
	is_str(req_params_get(&p, "c"), "", "empty value");
	is_str(req_params_get(&p, "d"), "", "name without =");
	is_str(req_params_get(&p, "e"), "\xc3\xa9", "UTF-8 decoded");
	is_str(req_params_get(&p, "f"), NULL, "absent name");
	req_params_free(&p);
	ok(params_fail("a=%00"), "%%00 refused");
	ok(params_fail("a=%4"), "truncated escape refused");
	ok(params_fail("a=%zz"), "bad hex refused");
	ok(params_fail("a=%ff"), "an escape that makes bad UTF-8 refused");
	ok(params_fail("a=1&a=2"), "a repeated name refused");
	many[0] = '\0';
	for (i = 0; i < 70; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "k%d=v&", i);
	ok(params_fail(many), "more than MAX_PARAMS pairs refused");

	memset(&r, 0, sizeof(r));
	memset(&rs, 0, sizeof(rs));
	ok(req_json(&r, &o, &rs) == -1 && rs.status == 400 &&
	    strstr(buf_str(&rs.body), "M_NOT_JSON") != NULL,
	    "an empty body is 400 M_NOT_JSON");
	r.body = xstrdup("{\"a\":1,\"a\":1}");
	r.body_len = strlen(r.body);
	ok(req_json(&r, &o, &rs) == -1 && rs.status == 400 &&
	    strstr(buf_str(&rs.body), "M_BAD_JSON") != NULL,
	    "duplicate keys are 400 M_BAD_JSON");
	free(r.body);
	r.body = xstrdup("{\"a\":1}");
	r.body_len = strlen(r.body);
	ok(req_json(&r, &o, &rs) == 0 && o != NULL, "an object parses");
	cJSON_Delete(o);
	req_free(&r);
	resp_free(&rs);

	memset(&c, 0, sizeof(c));
	c.cfg.enable_v1 = 1;
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2", "", &body),
	    200, "v2 root routed");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/api/v1/pubkey/"
	    "ed25519:0", "", &body), 200, "v1 pubkey/{keyId} routed");
	ok(strstr(body, "\"arg\":\"ed25519:0\"") != NULL &&
	    strstr(body, "\"api\":1") != NULL,
	    "the key id and the API reach the handler");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2/pubkey/isvalid",
	    "public_key=x", &body), 200, "the exact route wins");
	ok(strstr(body, "\"arg\":\"\"") != NULL, "no path argument");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2/pubkey/a/b", "",
	    &body), 404, "a wildcard matches one segment only");
	ok(strstr(body, "M_UNRECOGNIZED") != NULL, "404 is M_UNRECOGNIZED");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2/pubkey/", "",
	    &body), 404, "an empty wildcard segment is 404");
	free(body);
	is_int(dispatch(&c, METHOD_POST, "/_matrix/identity/v2/pubkey/isvalid",
	    "", &body), 405, "a known path with the wrong method is 405");
	ok(strstr(body, "M_UNRECOGNIZED") != NULL, "405 is M_UNRECOGNIZED");
	free(body);
	is_int(dispatch(&c, METHOD_OPTIONS, "/_matrix/identity/v2/lookup", "",
	    &body), 200, "OPTIONS on a known path is 200");
	is_str(body, "{}", "OPTIONS answers {}");
	free(body);
	is_int(dispatch(&c, METHOD_OPTIONS, "/_matrix/identity/v2/nope", "",
	    &body), 404, "OPTIONS on an unknown path is 404");
	free(body);
	is_int(dispatch(&c, METHOD_POST, "/_matrix/identity/api/v1/lookup", "",
	    &body), 404, "a v2-only route is not served under v1");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/versions", "",
	    &body), 200, "versions at the root");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2/versions", "",
	    &body), 404, "versions is not under v2");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2/", "", &body),
	    404, "a trailing slash is another path");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v20", "", &body),
	    404, "a prefix of a path segment does not match");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/other", "", &body), 404,
	    "a path outside /_matrix/identity is 404");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2", "a=%zz",
	    &body), 400, "a malformed query string is 400");
	ok(strstr(body, "M_INVALID_PARAM") != NULL, "as M_INVALID_PARAM");
	free(body);
	c.cfg.enable_v1 = 0;
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/api/v1", "",
	    &body), 404, "v1 switched off is 404");
	free(body);
	is_int(dispatch(&c, METHOD_POST, "/_matrix/identity/api/v1/sign", "",
	    &body), 200, "a route marked API_V1_ALWAYS stays on v1");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/api/v1/sign", "",
	    &body), 405, "with its methods");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/api/v1/pubkey/"
	    "ed25519:0", "", &body), 404, "other v1 routes stay off");
	free(body);
	is_int(dispatch(&c, METHOD_GET, "/_matrix/identity/v2", "", &body),
	    200, "v2 still served with v1 off");
	free(body);
	is_int(req_method("PATCH"), METHOD_OTHER, "unknown methods");
	/* The request path from the server's meta-variables (RFC 3875). */
	cgi_path(NULL, NULL, "/_matrix/identity", "/v2", "/_matrix/identity/v2",
	    "SCRIPT_NAME + PATH_INFO");
	cgi_path(NULL, NULL, "/_matrix/identity/v2", NULL,
	    "/_matrix/identity/v2", "SCRIPT_NAME alone (PATH_INFO absent)");
	cgi_path(NULL, NULL, "/_matrix/identity/v2", "",
	    "/_matrix/identity/v2", "SCRIPT_NAME alone (PATH_INFO empty)");
	cgi_path(NULL, NULL, "", "/_matrix/identity/v2", "/_matrix/identity/v2",
	    "PATH_INFO alone (SCRIPT_NAME empty: the program at the root)");
	cgi_path(NULL, NULL, NULL, "/_matrix/identity/v2",
	    "/_matrix/identity/v2", "PATH_INFO alone (SCRIPT_NAME absent)");
	cgi_path(NULL, NULL, NULL, NULL, "", "nothing named: \"\"");
	cgi_path("", "", "", "", "", "all empty: \"\"");
	cgi_path("/_matrix/identity/versions", "/r", "/s", "/p",
	    "/_matrix/identity/versions", "DOCUMENT_URI first");
	cgi_path("", "/_matrix/identity/versions", "/sigil/sigil-status.cgi",
	    "/x", "/_matrix/identity/versions",
	    "REDIRECT_URL next (an empty DOCUMENT_URI is none)");
	cgi_path(NULL, NULL, "/_matrix/identity/v", "2", "",
	    "a PATH_INFO not starting with / is refused, not joined");
	cgi_path(NULL, NULL, "_matrix/identity", "/v2", "",
	    "a SCRIPT_NAME not starting with / is refused");
	cgi_path(NULL, NULL, "/_matrix/identity/v2/pubkey", "/ed25519%3A0",
	    "/_matrix/identity/v2/pubkey/ed25519%3A0",
	    "decoded already: an escape left in PATH_INFO stays as it is");
	memset(many, 'a', MAX_PATH - 1);
	many[0] = '/';
	many[MAX_PATH - 1] = '\0';
	body = req_cgi_path(NULL, NULL, "/_matrix/identity", many, MAX_PATH);
	is_int((long long)strlen(body), MAX_PATH + 1,
	    "over MAX_PATH once joined: cut to MAX_PATH + 1 (refused as too long)");
	free(body);
	body = req_cgi_path(NULL, NULL, "/a", many, MAX_PATH);
	is_int((long long)strlen(body), MAX_PATH + 1,
	    "one byte over once joined: too long as well");
	free(body);
	body = req_cgi_path(NULL, NULL, many, NULL, MAX_PATH);
	is_int((long long)strlen(body), MAX_PATH - 1,
	    "a path of MAX_PATH - 1 bytes is kept whole");
	free(body);
	body = req_cgi_path(NULL, NULL, "/", many, MAX_PATH);
	is_int((long long)strlen(body), MAX_PATH, "and one of MAX_PATH");
	ok(strncmp(body, "//aaa", 5) == 0, "SCRIPT_NAME then PATH_INFO");
	free(body);

	return done_testing();
}
