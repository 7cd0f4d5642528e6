/*
 * sigil-health: /_sigil/health, the question for a load balancer or a
 * monitor.  Each check: the database (and its replica) answers now, with
 * this build's schema; the configured signing key file loads as it is
 * now (after a rotation, before the workers restart, too) and is
 * private; sigil-notify's figures in metrics_dir are fresh.  200 when
 * every check passes, else 503, with each check and why as JSON.  A
 * program of its own, so that sigil-status stays without libpq, libcrypto
 * and the key.  The front passes /_sigil/ only from the operator's
 * addresses.
 */
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "db.h"
#include "fcgi.h"
#include "metrics.h"
#include "req.h"
#include "resp.h"
#include "sign.h"
#include "util.h"

/*
 * Adds check name to checks, passed or not (why: a reason, or NULL when
 * it passed); returns the check's object for its figures.
 */
static cJSON *
health_add(cJSON *checks, const char *name, const char *why, int *failed)
{
	cJSON	*o = cJSON_AddObjectToObject(checks, name);

	cJSON_AddBoolToObject(o, "ok", why == NULL);
	if (why != NULL) {
		cJSON_AddStringToObject(o, "error", why);
		*failed = 1;
	}
	return o;
}

/* The database check of db under name: it answers, with our schema. */
static void
health_db(struct ctx *c, struct db *db, const char *name, cJSON *checks,
    int *failed)
{
	enum db_ready_res	 rr;
	const char		*why = NULL;
	long			 version;
	cJSON			*o;

	rr = c->app->needs.db->check(db, &version);
	switch (rr) {
	case DB_READY:
		break;
	case DB_DOWN:
		why = "cannot connect, or the connection failed";
		break;
	case DB_SCHEMA_MISMATCH:
		why = "the schema is not this build's: run sigil-migrate";
		break;
	}
	o = health_add(checks, name, why, failed);
	if (version >= 0)
		cJSON_AddNumberToObject(o, "schema_version", (double)version);
}

/* The key check: the configured key file loads as it is now. */
static void
health_key(struct ctx *c, cJSON *checks, int *failed)
{
	const struct app_key_part	*kp = c->app->needs.key;
	struct sign_key			*k = NULL;
	char				 err[512];
	cJSON				*o;

	if (kp->load(c->cfg.signing_key, c->cfg.signing_key_id, &k, err,
	    sizeof(err)) == -1) {
		health_add(checks, "signing_key", err, failed);
		return;
	}
	o = health_add(checks, "signing_key", NULL, failed);
	cJSON_AddStringToObject(o, "key_id", k->id);
	kp->free(k);
}

/* sigil-notify's figures were refreshed in the last health_notify_age s. */
static void
health_notify(struct ctx *c, cJSON *checks, int *failed)
{
	struct metrics_notify	 nt;
	int64_t			 age;
	char			 why[128];
	const char		*stale = NULL;
	cJSON			*o;

	if (c->cfg.health_notify_age == 0 || c->cfg.metrics_dir == NULL)
		return;			/* not asked for, or not measured */
	if (!metrics_notify_read(c->cfg.metrics_dir, &nt)) {
		health_add(checks, "notify", "sigil-notify has not run here "
		    "(no figures in metrics_dir)", failed);
		return;
	}
	age = now_ms() / 1000 - nt.refreshed;
	if (age > c->cfg.health_notify_age) {
		snprintf(why, sizeof(why), "sigil-notify's figures are %lld s "
		    "old (health_notify_age %lld)", (long long)age,
		    (long long)c->cfg.health_notify_age);
		stale = why;
	}
	o = health_add(checks, "notify", stale, failed);
	cJSON_AddNumberToObject(o, "age_seconds", (double)age);
	cJSON_AddNumberToObject(o, "outbox_rows", (double)nt.rows);
}

/*
 * GET /_sigil/health: {"status": "ok"|"failing", "checks": {<name>:
 * {"ok": bool, "error"?: text, figures...}}}, 200 when every check
 * passed, else 503.
 */
static void
h_health(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON	*o, *checks;
	int	 failed = 0;

	(void)r;
	o = cJSON_CreateObject();
	checks = cJSON_CreateObject();
	health_db(c, c->db, "database", checks, &failed);
	if (c->db_read != c->db)
		health_db(c, c->db_read, "database_replica", checks, &failed);
	health_key(c, checks, &failed);
	health_notify(c, checks, &failed);
	cJSON_AddStringToObject(o, "status", failed ? "failing" : "ok");
	cJSON_AddItemToObject(o, "checks", checks);
	resp_json(rs, failed ? 503 : 200, o);
	cJSON_Delete(o);
}

static const struct route routes[] = {
	{ METHOD_GET, API_OPS, "health", h_health, AUTH_NONE },
};

static const struct app health_app = {
	"sigil-health", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .db_use = APP_READ_REPLICA, .key = &app_key },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&health_app, argc, argv);
}
