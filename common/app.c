/*
 * The dispatcher and the start-up of a program's context.  Paths are
 * split into an API (v1, v2, the bare /_matrix/identity/ root, or the
 * operator's /_sigil/) and the rest, which is matched against the route
 * table: exactly, or with one trailing segment where the route ends in
 * "*".  The dispatcher tells the metrics (common/metrics.c) which route
 * a request took.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "mxerr.h"
#include "part.h"
#include "req.h"
#include "resp.h"
#include "sign.h"
#include "sms.h"
#include "util.h"

/*
 * The database, outbound HTTP, mail and the signing key come into a
 * program only when its table names them (struct app_needs): this file
 * reaches them only through those tables, so that a program such as
 * sigil-status links neither libpq nor libcurl (and is that much smaller
 * in memory).  app_needs_check() below refuses a program whose code
 * links a part its table does not name.
 */

#define PREFIX_ROOT	"/_matrix/identity/"
#define PREFIX_V1	"/_matrix/identity/api/v1"
#define PREFIX_V2	"/_matrix/identity/v2"
#define PREFIX_OPS	"/_sigil/"

/*
 * Splits path into its API and the rest ("" for the API's own root).
 * Returns the rest, borrowed from path, or NULL for a path outside ours.
 */
static const char *
split_api(const char *path, enum api *api)
{
	static const struct {
		const char	*prefix;
		enum api	 api;
	} prefixes[] = {
		{ PREFIX_V1, API_V1 },
		{ PREFIX_V2, API_V2 },
	};
	size_t		 i, n;
	const char	*rest;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i].prefix);
		if (strncmp(path, prefixes[i].prefix, n) != 0)
			continue;
		rest = path + n;
		if (*rest == '\0') {
			*api = prefixes[i].api;
			return rest;
		}
		if (*rest == '/' && rest[1] != '\0') {
			*api = prefixes[i].api;
			return rest + 1;
		}
	}
	n = strlen(PREFIX_ROOT);
	if (strncmp(path, PREFIX_ROOT, n) == 0 && path[n] != '\0') {
		*api = API_ROOT;
		return path + n;
	}
	n = strlen(PREFIX_OPS);
	if (strncmp(path, PREFIX_OPS, n) == 0 && path[n] != '\0') {
		*api = API_OPS;
		return path + n;
	}
	return NULL;
}

/*
 * Returns 1 when rest matches the route path pat; for a pattern ending in
 * "/ *" (without the space) *arg is set to the last segment of rest.
 */
static int
path_match(const char *pat, const char *rest, const char **arg)
{
	size_t	 n = strlen(pat);

	if (n >= 2 && strcmp(pat + n - 2, "/*") == 0) {
		if (strncmp(rest, pat, n - 1) != 0 || rest[n - 1] == '\0' ||
		    strchr(rest + n - 1, '/') != NULL)
			return 0;
		*arg = rest + n - 1;
		return 1;
	}
	*arg = NULL;
	return strcmp(pat, rest) == 0;
}

/* The longest access token we look up; ours are 43 characters. */
#define MAX_ACCESS_TOKEN	512

/*
 * Returns the access token of the request, borrowed from it: the
 * Authorization header's Bearer token, else ?access_token= unless the
 * operator refuses it (allow_access_token_query = false: spec v1.20
 * dropped it, but Synapse still sends its hash_details that way).  NULL
 * when there is none.
 */
static const char *
access_token(const struct ctx *c, const struct req *r)
{
	const char	*a = r->authorization;

	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
		a += 7;
		while (*a == ' ')
			a++;
		return *a == '\0' ? NULL : a;
	}
	if (!c->cfg.allow_access_token_query)
		return NULL;
	a = req_query(r, "access_token");
	return a == NULL || *a == '\0' ? NULL : a;
}

/*
 * The first half of the v2 gate: the request's access token, hashed into
 * r->token_hash.  Returns 0, or -1 with 401 in rs.
 */
static int
gate_token(const struct ctx *c, struct req *r, struct resp *rs)
{
	const char	*token;

	if ((token = access_token(c, r)) == NULL) {
		resp_err(rs, MX_UNAUTHORIZED,
		    req_query(r, "access_token") != NULL ?
		    "Send the access token as Authorization: Bearer, not in "
		    "the query string" : "Missing access token");
		return -1;
	}
	if (strlen(token) > MAX_ACCESS_TOKEN) {
		resp_err(rs, MX_UNAUTHORIZED, "Unrecognised access token");
		return -1;
	}
	c->app->needs.db->sha256_hex(token, strlen(token), r->token_hash);
	return 0;
}

/*
 * The second half: what the token's query found (res, and how many of
 * the current policies the user agreed to) decides.  Returns 0, or -1
 * with the error response in rs.  Handlers of AUTH_USER_IN_HANDLER
 * routes call it with the answer of their own query.
 */
int
app_gate_decide(const struct ctx *c, enum route_auth auth, enum db_res res,
    int64_t agreed, struct resp *rs)
{
	switch (res) {
	case DB_OK:
		break;
	case DB_NOTFOUND:
		resp_err(rs, MX_UNAUTHORIZED, "Unrecognised access token");
		return -1;
	case DB_CONFLICT:
	case DB_ERROR:
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return -1;
	}
	if (auth != AUTH_USER_ANY_TERMS &&
	    agreed < (int64_t)c->terms.npolicies) {
		resp_err(rs, MX_TERMS_NOT_SIGNED, "Terms of service not "
		    "accepted: see GET /_matrix/identity/v2/terms");
		return -1;
	}
	return 0;
}

/*
 * The first half for AUTH_USER_IN_HANDLER routes: the gate's question
 * about r's token, for the handler to ask inside its own query (the
 * db_*_authed functions) and pass the answer to app_gate_decide().
 */
struct db_auth_check
app_gate_question(const struct ctx *c, const struct req *r)
{
	struct db_auth_check	 q = { r->token_hash, c->terms.keys,
				    c->terms.npolicies, now_ms(), NULL, 0 };

	return q;
}

/*
 * For AUTH_USER_IN_HANDLER routes whose input was refused before their
 * own query could ask the gate (rs holds that refusal): asks the gate
 * alone, so that a caller without a valid token learns that (401, or 403
 * for terms not accepted), never what is wrong with the input.  Returns
 * 0 when the token passes or r->gate_passed (rs untouched), else -1 with
 * the gate's answer in rs.
 */
int
app_gate_refused_input(const struct ctx *c, const struct req *r,
    struct resp *rs)
{
	char		*user_id = NULL;
	int64_t		 agreed = 0;
	enum db_res	 res;

	if (r->gate_passed)
		return 0;
	res = c->app->needs.db->auth_lookup(c->db, r->token_hash,
	    c->terms.keys, c->terms.npolicies, now_ms(), &user_id, &agreed);
	free(user_id);
	return app_gate_decide(c, AUTH_USER, res, agreed, rs);
}

/*
 * The v2 gate: one query finds the token's user and whether they agreed
 * to the current terms.  Returns 0 with r->user_id set, or -1 with the
 * error response in rs.
 */
static int
gate(struct ctx *c, enum route_auth auth, struct req *r, struct resp *rs)
{
	int64_t		 agreed = 0;
	enum db_res	 res;

	if (gate_token(c, r, rs) == -1)
		return -1;
	res = c->app->needs.db->auth_lookup(c->db, r->token_hash,
	    c->terms.keys, c->terms.npolicies, now_ms(), &r->user_id, &agreed);
	if (app_gate_decide(c, auth, res, agreed, rs) == -1)
		return -1;
	r->gate_passed = 1;
	return 0;
}

/*
 * Routes the request r to its handler, or answers it here: 404 for an
 * unknown path (or a v1 path with v1 switched off, but for routes marked
 * API_V1_ALWAYS), 405 for a known path
 * with the wrong method, 200 {} to OPTIONS on a known path, 400 for a bad
 * query string.  Always leaves a response in rs.
 */
/*
 * Prints app's routes, one full path a line, for each API a route is
 * served on (sigil-NAME --routes; t/make/routes.t compares them with
 * the web fronts' routing, made from deploy/programs).  A "*" segment
 * stays "*".  Returns 0, or 1 when out could not be written.
 */
int
app_print_routes(const struct app *app, FILE *out)
{
	static const struct {
		unsigned	 bit;
		const char	*prefix;
	} apis[] = {
		{ API_V1, "/_matrix/identity/api/v1" },
		{ API_V2, "/_matrix/identity/v2" },
		{ API_ROOT, "/_matrix/identity" },
		{ API_OPS, "/_sigil" },
	};
	size_t	 i, j;

	for (i = 0; i < app->nroutes; i++)
		for (j = 0; j < sizeof(apis) / sizeof(apis[0]); j++)
			if (app->routes[i].apis & apis[j].bit)
				fprintf(out, "%s%s%s\n", apis[j].prefix,
				    app->routes[i].path[0] != '\0' ? "/" : "",
				    app->routes[i].path);
	return fflush(out) == 0 && !ferror(out) ? 0 : 1;
}

void
app_dispatch(const struct app *app, struct ctx *c, struct req *r,
    struct resp *rs)
{
	const struct route	*rt, *found = NULL;
	const char		*rest, *arg = NULL, *a;
	enum api		 api;
	int			 path_known = 0;
	size_t			 i;
	cJSON			*empty;

	if ((rest = split_api(r->path, &api)) == NULL) {
		resp_err(rs, MX_UNRECOGNIZED, NULL);
		return;
	}
	for (i = 0; i < app->nroutes && found == NULL; i++) {
		rt = &app->routes[i];
		if (!(rt->apis & api) || (api == API_V1 && !c->cfg.enable_v1 &&
		    !(rt->apis & API_V1_ALWAYS)) ||
		    !path_match(rt->path, rest, &a))
			continue;
		path_known = 1;
		if (rt->methods & r->method) {
			found = rt;
			arg = a;
		}
	}
	if (found == NULL) {
		if (path_known && r->method == METHOD_OPTIONS) {
			empty = cJSON_CreateObject();
			resp_json(rs, 200, empty);
			cJSON_Delete(empty);
		} else if (path_known)
			resp_err(rs, MX_METHOD_NOT_ALLOWED, NULL);
		else
			resp_err(rs, MX_UNRECOGNIZED, NULL);
		return;
	}
	r->api = api;
	r->route = found->path;
	r->path_arg = arg;
	metrics_route((size_t)(found - app->routes), api,
	    found->methods & r->method);
	/* Every outbound call this request makes shares one time budget. */
	if (app->needs.http != NULL)
		app->needs.http->budget_begin();
	if (req_params_parse(r->query_string, strlen(r->query_string),
	    &r->query) == -1) {
		/* Auth before input: the gate first, with the token of the
		 * Authorization header (the query cannot be read). */
		if (api == API_V2 && found->auth != AUTH_NONE &&
		    gate(c, found->auth == AUTH_USER_IN_HANDLER ? AUTH_USER :
		    found->auth, r, rs) == -1)
			return;
		resp_err(rs, MX_INVALID_PARAM, "Malformed query string");
		return;
	}
	/* A route that asks the gate's question in its own query gets the
	 * token's hash; with a read replica, which may lag behind a new
	 * token, the gate asks the primary as for any route. */
	if (api == API_V2 && found->auth == AUTH_USER_IN_HANDLER &&
	    c->db_read == c->db) {
		if (gate_token(c, r, rs) == -1)
			return;
	} else if (api == API_V2 && found->auth != AUTH_NONE &&
	    gate(c, found->auth, r, rs) == -1)
		return;
	found->handler(c, r, rs);
	if (rs->status == 0) {
		log_err("handler for %s left no response", r->path);
		abort();
	}
}

/*
 * Returns 0 when the key lists make sense together: ids used once, the
 * signing key neither old nor revoked.  Else -1 after logging why.
 */
static int
keys_consistent(const struct ctx *c)
{
	const struct cfg_pubkey	*all[2 * MAX_KEYS];
	size_t			 n = 0, i, j;

	for (i = 0; i < c->cfg.n_old_keys; i++)
		all[n++] = &c->cfg.old_keys[i];
	for (i = 0; i < c->cfg.n_revoked_keys; i++)
		all[n++] = &c->cfg.revoked_keys[i];
	for (i = 0; i < n; i++) {
		if (strcmp(all[i]->id, c->key->id) == 0 ||
		    strcmp(all[i]->public_b64, c->key->public_b64) == 0) {
			log_err("key %s: the signing key cannot also be listed "
			    "as old_key or revoked_key", all[i]->id);
			return -1;
		}
		for (j = i + 1; j < n; j++)
			if (strcmp(all[i]->id, all[j]->id) == 0 ||
			    strcmp(all[i]->public_b64, all[j]->public_b64) ==
			    0) {
				log_err("key %s is listed twice", all[j]->id);
				return -1;
			}
	}
	return 0;
}

/*
 * Returns 0 when the parts app names are those linked into the program,
 * routes behind the gate have the database and every option its part;
 * else -1 after logging what does not match.
 */
int
app_needs_check(const struct app *app)
{
	const struct app_needs	*n = &app->needs;
	unsigned		 named = 0, linked = parts_linked();
	size_t			 i;
	int			 p, rc = 0;

	named |= n->db != NULL ? 1U << PART_DB : 0;
	named |= n->http != NULL ? 1U << PART_HTTP : 0;
	named |= n->mail != NULL ? 1U << PART_MAIL : 0;
	named |= n->key != NULL ? 1U << PART_KEY : 0;
	for (p = 0; p < PARTS; p++) {
		if ((linked & ~named) & 1U << p) {
			log_err("%s: its code uses the %s, which its struct "
			    "app does not name (a build error)", app->name,
			    part_name[p]);
			rc = -1;
		}
		if ((named & ~linked) & 1U << p) {
			log_err("%s: its struct app names the %s, which is "
			    "not linked (a build error)", app->name,
			    part_name[p]);
			rc = -1;
		}
	}
	for (i = 0; i < app->nroutes && n->db == NULL; i++)
		if (app->routes[i].auth != AUTH_NONE) {
			log_err("%s: a route behind the gate without the "
			    "database (a build error)", app->name);
			rc = -1;
			break;
		}
	if ((n->db_use != 0 && n->db == NULL) ||
	    ((n->templates != 0) != (n->mail != NULL))) {
		log_err("%s: database options without the database, or mail "
		    "without templates or templates without mail (a build "
		    "error)", app->name);
		rc = -1;
	}
	return rc;
}

/*
 * The number signing_keys (sql/008) gives the signing key, which stored
 * signatures name: asked of the primary on first use and kept for the
 * life of the process.  0 while the database cannot say; a caller then
 * stores no signature and signs what it reads.
 */
int
app_key_ref(struct ctx *c)
{
	if (c->key_ref == 0 && c->db != NULL &&
	    c->app->needs.db->signing_key_ref(c->db, c->key->id,
	    c->key->public_b64, now_ms(), &c->key_ref) != DB_OK)
		c->key_ref = 0;
	return c->key_ref;
}

/*
 * Returns the templates (TMPL_USES bits) app uses with the configuration
 * c: only these are read and checked at start, so that a program does not
 * stop for a template it never sends (the text, when no SMS gateway is
 * set; the invite mail, in sigil-validate).
 */
static unsigned
tmpl_uses(const struct app *app, const struct cfg *c)
{
	unsigned	 uses = 0;

	if (app->needs.templates & APP_MAIL_VERIFY) {
		uses |= TMPL_USES(TMPL_VERIFICATION_MAIL) |
		    TMPL_USES(TMPL_VERIFY_PAGE);
		/* As sms_configured(), which would link the SMS code. */
		if (strcmp(c->sms_gateway, "none") != 0)
			uses |= TMPL_USES(TMPL_SMS);
	}
	if (app->needs.templates & APP_MAIL_INVITE)
		uses |= TMPL_USES(TMPL_INVITE_MAIL);
	return uses;
}

/*
 * Loads the signing key named in the configuration of c with key.
 * Returns 0, or -1 after logging why.
 */
static int
start_key(const struct app_key_part *key, struct ctx *c)
{
	char	 err[1024];

	if (key->load(c->cfg.signing_key, c->cfg.signing_key_id, &c->key, err,
	    sizeof(err)) == -1) {
		log_err("signing key: %s", err);
		return -1;
	}
	return keys_consistent(c);
}

/*
 * Checks the mail settings of c, loads the templates app uses and starts
 * the mail part.  Returns 0, or -1 after logging why.
 */
static int
start_mail(const struct app *app, struct ctx *c)
{
	char	 err[1024];	/* a template fault lists the names */

	if (c->cfg.mail_from == NULL || c->cfg.template_dir == NULL) {
		log_err("%s needs mail_from and template_dir in the "
		    "configuration", app->name);
		return -1;
	}
	if (!app->needs.mail->header_safe(c->cfg.mail_from)) {
		log_err("mail_from holds a control character");
		return -1;
	}
	if (tmpl_load(c->cfg.template_dir, c->cfg.default_brand,
	    tmpl_uses(app, &c->cfg), &c->templates, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	if ((app->needs.templates & APP_MAIL_INVITE) &&
	    (tmpl_check(c->cfg.invite_subject, TMPL_INVITE_MAIL) == -1 ||
	    tmpl_check(c->cfg.invite_subject_space, TMPL_INVITE_MAIL) == -1)) {
		log_err("invite_subject or invite_subject_space: a "
		    "placeholder that is malformed or not an invite "
		    "mail's");
		return -1;
	}
	return app->needs.mail->init(&c->cfg);
}

/*
 * Opens the database of c (and the replica, with APP_READ_REPLICA and one
 * set).  Returns 0, or -1 after logging why: a secret file of a
 * connection (its password file, its client key) that other users can
 * read, or a schema that is not this program's.
 */
static int
start_db(const struct app *app, struct ctx *c)
{
	const struct app_db_part *db = app->needs.db;
	int		 replica;
	char		 err[1024];

	replica = (app->needs.db_use & APP_READ_REPLICA) &&
	    c->cfg.database_replica != NULL;
	if (db->secrets_check(c->cfg.database, err, sizeof(err)) == -1 ||
	    (replica && db->secrets_check(c->cfg.database_replica, err,
	    sizeof(err)) == -1)) {
		log_err("%s", err);
		return -1;
	}
	c->db = db->open(c->cfg.database, app->name);
	if (app->needs.db_use & APP_LISTEN)
		db->listen(c->db);
	if (db->ready(c->db) == DB_SCHEMA_MISMATCH)
		return -1;
	c->db_read = c->db;
	if (replica) {
		c->db_read = db->open(c->cfg.database_replica, app->name);
		if (db->ready(c->db_read) == DB_SCHEMA_MISMATCH)
			return -1;
	}
	return 0;
}

/*
 * The first half of app_ctx_init(): checks app's parts and reads the
 * configuration (from "-c path" or $SIGIL_CONFIG) into c, and nothing
 * else.  Returns 0, or -1 after logging why the program cannot start (c
 * is then for app_ctx_free()).
 */
int
app_ctx_config(const struct app *app, int argc, char *const *argv,
    struct ctx *c)
{
	const char	*path;
	char		 err[1024];

	memset(c, 0, sizeof(*c));
	c->app = app;
	if (app_needs_check(app) == -1)
		return -1;
	if ((path = cfg_path(argc, argv)) == NULL) {
		log_err("no configuration: pass -c <file> or set SIGIL_CONFIG");
		return -1;
	}
	if (cfg_load(path, &c->cfg, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/*
 * The second half: builds each part the program of c (configured by
 * app_ctx_config()) needs: the signing key, the terms, outbound HTTP,
 * mail, the database.  Returns 0, or -1 after logging why the program
 * cannot start (c is then for app_ctx_free()).
 */
int
app_ctx_start(struct ctx *c)
{
	const struct app	*app = c->app;
	char			 err[1024];

	if (app->needs.key != NULL && start_key(app->needs.key, c) == -1)
		return -1;
	if (c->cfg.terms_file == NULL)
		terms_empty(&c->terms);
	else if (terms_load(c->cfg.terms_file, &c->terms, err,
	    sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	if ((app->needs.http != NULL && app->needs.http->init(&c->cfg,
	    app->name) == -1) || (app->needs.mail != NULL && start_mail(app, c) == -1) ||
	    (app->needs.db != NULL && start_db(app, c) == -1))
		return -1;
	if (c->key != NULL)
		log_info("started, signing as %s with %s",
		    c->cfg.server_name, c->key->id);
	else
		log_info("started as %s", c->cfg.server_name);
	return 0;
}

/*
 * Builds the process context: app_ctx_config(), then app_ctx_start().
 * Returns 0, or -1 after logging why the program cannot start (c is then
 * for app_ctx_free()).
 */
int
app_ctx_init(const struct app *app, int argc, char *const *argv,
    struct ctx *c)
{
	if (app_ctx_config(app, argc, argv, c) == -1)
		return -1;
	return app_ctx_start(c);
}

/*
 * Opens the shared counters of app under dir, counting the routes of its
 * table (metrics_open): with claim as a worker, else only checked.
 * Returns 0, or -1 with why in err.
 */
int
app_metrics_open(const struct app *app, const char *dir, int claim,
    char *err, size_t errlen)
{
	struct metrics_path	*paths;
	size_t			 i;
	int			 rc;

	paths = xcalloc(app->nroutes + 1, sizeof(*paths));
	for (i = 0; i < app->nroutes; i++)
		paths[i] = (struct metrics_path){ app->routes[i].path,
		    app->routes[i].apis, app->routes[i].methods };
	rc = metrics_open(dir, app->name, paths, app->nroutes, claim, err,
	    errlen);
	free(paths);
	return rc;
}

/*
 * Writes into buf (of len bytes) how -t names the user uid: "uid N
 * (name)", or "uid N" when the system has no name for it.  Returns buf.
 */
static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	const struct passwd	*pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "uid %ld (%s)", (long)uid, pw->pw_name);
	else
		snprintf(buf, len, "uid %ld", (long)uid);
	return buf;
}

/*
 * -t: warns when the program runs as a user other than the owner of the
 * file at path (the configuration or the signing key, named by what):
 * the sign of a host without per-account execution, where the web
 * server's user runs every customer's programs, or of a file left
 * root's.  Says nothing of a path NULL or that cannot be stat()ed
 * (loading it said why).  Only a warning: the exit status is not its.
 */
static void
check_owner(const struct app *app, const char *what, const char *path)
{
	struct stat	 st;
	uid_t		 uid = geteuid();
	char		 runs[96], owns[96];

	if (path == NULL || stat(path, &st) == -1 || st.st_uid == uid)
		return;
	log_warn("-t: %s runs as %s, but its %s %s is owned by %s: run the "
	    "programs as the user who owns their files (on a shared host, "
	    "per-account execution: suEXEC or mpm-itk; README \"Shared "
	    "hosting\"), or chown the file", app->name,
	    user_name(uid, runs, sizeof(runs)), what, path,
	    user_name(st.st_uid, owns, sizeof(owns)));
}

/*
 * -t, after app_ctx_init() checked the configuration, key and templates:
 * what the program reaches at run time, now (the database and replica,
 * the SMTP server of a program that mails, the SMS gateway of one that
 * texts), and plainly what it does not have, with the program that
 * checks it; a warning when the configuration (at conf_path, NULL: none)
 * or the key is another user's.
 * Returns the exit status: 0 when all is well, else 1 (the reasons
 * logged).
 */
int
app_check(const struct app *app, struct ctx *c, const char *conf_path)
{
	const struct app_db_part	*db = app->needs.db;
	const char			*sms_url;
	char				 err[256];
	int				 rc = 0;

	check_owner(app, "configuration", conf_path);
	if (app->needs.key != NULL)
		check_owner(app, "signing key", c->cfg.signing_key);
	if (db == NULL)
		log_info("-t: %s has no database (sigil-health -t, or any "
		    "program with one, checks it)", app->name);
	else if (db->ready(c->db) != DB_READY ||
	    (c->db_read != c->db && db->ready(c->db_read) != DB_READY))
		rc = 1;			/* db_ready said why */
	if (app->needs.mail == NULL)
		log_info("-t: %s sends no mail (sigil-validate -t checks the "
		    "SMTP server)", app->name);
	else if (app->needs.mail->check(err, sizeof(err)) == -1) {
		log_err("-t: the SMTP server %s: %s", c->cfg.smtp_url, err);
		rc = 1;
	}
	if ((app->needs.templates & APP_MAIL_VERIFY) &&
	    strcmp(c->cfg.sms_gateway, "none") != 0 &&
	    app->needs.http != NULL) {
		sms_url = c->cfg.sms_url != NULL ? c->cfg.sms_url :
		    SMS_TWILIO_URL;
		if (app->needs.http->check(sms_url, err, sizeof(err)) == -1) {
			log_err("-t: the SMS gateway %.*s: %s",
			    (int)strcspn(sms_url, "?"), sms_url, err);
			rc = 1;
		}
	}
	if (rc == 0)
		log_info("-t: %s: all it needs is in order", app->name);
	return rc;
}

/* Frees the context so that leak checkers see nothing left. */
void
app_ctx_free(struct ctx *c)
{
	const struct app_needs	*n;

	if (c->app == NULL)
		return;
	n = &c->app->needs;
	if (n->http != NULL)
		n->http->free();
	if (n->mail != NULL)
		n->mail->free();
	tmpl_free(&c->templates);
	terms_free(&c->terms);
	if (n->db != NULL) {
		if (c->db_read != c->db)
			n->db->close(c->db_read);
		n->db->close(c->db);
	}
	if (n->key != NULL)
		n->key->free(c->key);
	cfg_free(&c->cfg);
	memset(c, 0, sizeof(*c));
}
