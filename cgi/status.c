/*
 * sigil-status: the API roots, /_matrix/identity/versions, and the answer
 * to every path no other program serves (nginx sends the rest of
 * /_matrix/identity/ here, and the dispatcher answers 404 M_UNRECOGNIZED).
 */
#include <stddef.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "fcgi.h"
#include "req.h"
#include "resp.h"

/* Every version of the identity spec we serve, oldest first. */
static const char *const spec_versions[] = {
	"r0.1.0", "r0.2.0", "r0.2.1", "r0.3.0",
	"v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8",
	"v1.9", "v1.10", "v1.11", "v1.12", "v1.13", "v1.14", "v1.15",
	"v1.16", "v1.17", "v1.18", "v1.19",
};

/* GET /_matrix/identity/versions: {"versions": [...]}. */
static void
h_versions(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON	*o, *list;

	(void)c;
	(void)r;
	o = cJSON_CreateObject();
	list = cJSON_CreateStringArray(spec_versions,
	    (int)(sizeof(spec_versions) / sizeof(spec_versions[0])));
	cJSON_AddItemToObject(o, "versions", list);
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

/* GET /_matrix/identity/api/v1 and /_matrix/identity/v2: {}. */
static void
h_ping(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON	*o;

	(void)c;
	(void)r;
	o = cJSON_CreateObject();
	resp_json(rs, 200, o);
	cJSON_Delete(o);
}

static const struct route routes[] = {
	{ METHOD_GET, API_ROOT, "versions", h_versions, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "", h_ping, AUTH_NONE },
};

static const struct app status_app = {
	"sigil-status", 0, routes, sizeof(routes) / sizeof(routes[0]),
	NULL,			/* no key: no libcrypto */
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&status_app, argc, argv);
}
