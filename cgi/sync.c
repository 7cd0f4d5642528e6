/*
 * sigil-sync: keeps the bindings it made equal to the organisation's
 * directory.  Not a FastCGI program: run from cron or a timer (--once),
 * or as a daemon beside sigil-notify that runs every sync_interval
 * seconds.
 *
 *	sigil-sync -c sigil.conf [-l log] [--once] [-n] [--force-remove]
 *
 * The sources: a query on another PostgreSQL database (common/sqlsrc,
 * sync_sql_*) and the organisation's LDAP or Active Directory directory
 * (common/ldapsrc, ldap_*); another is one row of sources[] below.
 *
 * A run reads every configured source whole into memory (a hash set of
 * (medium, address) -> user ID; each address through the one address
 * rule, each user ID through Matrix's rules, a bad entry skipped with a
 * log line and counted), reads every binding, and compares:
 *
 * - an entry without a binding is added;
 * - a binding sigil-sync made (bindings.origin 'sync') to another user
 *   ID is changed; one no source has any more is removed;
 * - a binding a user made (origin 'user') of an address in sync_domains,
 *   where the sources are authoritative, is replaced by the source's
 *   (and sigil-sync owns it from then on); elsewhere a user's binding
 *   stands and the entry is left out.
 *
 * Adds and changes are published as a validated bind publishes
 * (common/publish: signed, recorded, onbind queued with the pending
 * invites); removals are one statement per thousand, of sigil-sync's own
 * bindings only.  The removal guard: a run that would remove more than
 * sync_max_remove_percent of the bindings sigil-sync made (a broken
 * query, an empty search result) changes nothing, says so and counts a
 * refusal, unless --force-remove.  A source that fails changes nothing.
 * -n prints the changes, one a line (add, change, remove), and writes
 * nothing.
 *
 * Exit status (--once, -n): 0 done (or another run holds the lock that
 * lets one run at a time, and this one did nothing); 1 a source or the
 * database failed, or no source is configured; 2 the removal guard
 * stopped the run.
 * With metrics_dir, each run's figures go into <metrics_dir>/sync.state
 * (common/metrics.c), which sigil-status serves.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "db.h"
#include "ident.h"
#include "ldapsrc.h"
#include "log.h"
#include "metrics.h"
#include "publish.h"
#include "stop.h"
#include "sqlsrc.h"
#include "syncsrc.h"
#include "threepid.h"
#include "util.h"

#define REMOVE_BATCH		1000	/* bindings per DELETE */
#define SKIP_SAID		20	/* bad entries logged one by one */
#define FAILED_WAIT_S		60	/* daemon: a failed run, again */

/* A source of entries: its name, whether it is configured, its reader. */
struct source {
	const char	*name;
	int		 (*configured)(const struct cfg *);
	int		 (*read)(const struct cfg *, sync_emit_fn, void *, char *,
			    size_t);
};

static int
sql_configured(const struct cfg *cfg)
{
	return cfg->sync_sql_conninfo != NULL;
}

static int
ldap_configured(const struct cfg *cfg)
{
	return cfg->ldap_uri != NULL;
}

static const struct source sources[] = {
	{ "sql", sql_configured, sqlsrc_read },
	{ "ldap", ldap_configured, ldapsrc_read },
};

#define NSOURCES	(sizeof(sources) / sizeof(sources[0]))

/* One entry of the sources: "medium\0address\0mxid\0" in one block. */
struct entry {
	char		*medium;	/* owns the block */
	const char	*address;
	const char	*mxid;
	uint64_t	 hash;
	int		 bound;		/* a binding of it was seen */
};

/* The entries, and an open-addressing index over them. */
struct set {
	struct entry	*e;
	size_t		 n, cap;
	size_t		*slot;		/* index + 1 into e; 0: empty */
	size_t		 nslots;	/* a power of two, > 2 n */
};

/* What a run changes. */
enum act_kind {
	ACT_ADD,
	ACT_CHANGE,
	ACT_REMOVE,
};

static const char *const act_name[] = { "add", "change", "remove" };

struct act {
	enum act_kind	 kind;
	const struct entry *e;		/* ACT_ADD, ACT_CHANGE */
	char		*medium;	/* ACT_REMOVE, owned; and the old */
	char		*address;	/* binding's mxid for ACT_CHANGE */
	char		*mxid;
};

struct run {
	struct ctx		*c;
	struct set		 set;
	struct act		*act;
	size_t			 nact, capact;
	size_t			 nadd, nchange, nremove;
	size_t			 nadopt;	/* changes of users' ones */
	size_t			 owned;		/* origin 'sync', before */
	size_t			 seen;		/* rows the sources gave */
	size_t			 skipped;
};

/* FNV-1a of medium, a NUL, and address. */
static uint64_t
key_hash(const char *medium, const char *address)
{
	uint64_t	 h = UINT64_C(0xcbf29ce484222325);
	const char	*p;

	for (p = medium; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
	h *= UINT64_C(0x100000001b3);
	for (p = address; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
	return h;
}

/* The slot of (medium, address) in s: where it is, or the empty one
 * where it would go. */
static size_t
set_slot(const struct set *s, uint64_t h, const char *medium,
    const char *address)
{
	size_t			 i = (size_t)h & (s->nslots - 1);
	const struct entry	*e;

	while (s->slot[i] != 0) {
		e = &s->e[s->slot[i] - 1];
		if (e->hash == h && strcmp(e->address, address) == 0 &&
		    strcmp(e->medium, medium) == 0)
			break;
		i = (i + 1) & (s->nslots - 1);
	}
	return i;
}

/* The entry of (medium, address) in s, or NULL. */
static struct entry *
set_find(const struct set *s, const char *medium, const char *address)
{
	size_t	 i;

	if (s->nslots == 0)
		return NULL;
	i = set_slot(s, key_hash(medium, address), medium, address);
	return s->slot[i] == 0 ? NULL : &s->e[s->slot[i] - 1];
}

/* Doubles the index of s (or makes its first). */
static void
set_grow(struct set *s)
{
	size_t	 i, k;

	free(s->slot);
	s->nslots = s->nslots == 0 ? 1024 : s->nslots * 2;
	s->slot = xcalloc(s->nslots, sizeof(*s->slot));
	for (k = 0; k < s->n; k++) {
		i = (size_t)s->e[k].hash & (s->nslots - 1);
		while (s->slot[i] != 0)
			i = (i + 1) & (s->nslots - 1);
		s->slot[i] = k + 1;
	}
}

/*
 * Adds (medium, address) -> mxid to s.  Returns NULL when it is new, or
 * the entry already there (which keeps its user ID).
 */
static const struct entry *
set_add(struct set *s, const char *medium, const char *address,
    const char *mxid)
{
	struct entry	*e;
	size_t		 i, lm, la, lx;
	uint64_t	 h = key_hash(medium, address);

	if ((s->n + 1) * 2 > s->nslots)
		set_grow(s);
	i = set_slot(s, h, medium, address);
	if (s->slot[i] != 0)
		return &s->e[s->slot[i] - 1];
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 1024 : s->cap * 2;
		s->e = xreallocarray(s->e, s->cap, sizeof(*s->e));
	}
	lm = strlen(medium) + 1;
	la = strlen(address) + 1;
	lx = strlen(mxid) + 1;
	e = &s->e[s->n];
	e->medium = xmalloc(lm + la + lx);
	memcpy(e->medium, medium, lm);
	memcpy(e->medium + lm, address, la);
	memcpy(e->medium + lm + la, mxid, lx);
	e->address = e->medium + lm;
	e->mxid = e->medium + lm + la;
	e->hash = h;
	e->bound = 0;
	s->slot[i] = ++s->n;
	return NULL;
}

static void
set_free(struct set *s)
{
	size_t	 k;

	for (k = 0; k < s->n; k++)
		free(s->e[k].medium);
	free(s->e);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* Says why an entry of the sources was skipped (the first SKIP_SAID of a
 * run one by one; the count at the end) and counts it. */
static void
skip(struct run *r, const char *medium, const char *address,
    const char *mxid, const char *why)
{
	if (r->skipped++ < SKIP_SAID)
		log_warn("skipped %s %s -> %s: %s", medium != NULL ? medium :
		    "(no medium)", address != NULL ? address : "(no address)",
		    mxid != NULL ? mxid : "(no user ID)", why);
}

/* sync_emit_fn: one entry of a source into the run's set. */
static int
take(void *arg, const char *medium, const char *address, const char *mxid)
{
	struct run		*r = arg;
	const struct entry	*old;
	char			 canon[THREEPID_MAX_ADDRESS];

	r->seen++;
	if (medium == NULL || address == NULL || mxid == NULL)
		skip(r, medium, address, mxid, "a column is NULL");
	else if (threepid_canonical(medium, address, canon,
	    sizeof(canon)) == -1)
		skip(r, medium, address, mxid, "not a valid address");
	else if (!ident_user_id_valid(mxid))
		skip(r, medium, address, mxid, "not a valid user ID");
	else if ((old = set_add(&r->set, medium, canon, mxid)) != NULL &&
	    strcmp(old->mxid, mxid) != 0)
		skip(r, medium, address, mxid, "the address is already "
		    "given to another user ID; the first stands");
	return 0;
}

/* Appends an action to the run. */
static void
act_push(struct run *r, enum act_kind kind, const struct entry *e,
    const char *medium, const char *address, const char *mxid)
{
	struct act	*a;

	if (r->nact == r->capact) {
		r->capact = r->capact == 0 ? 256 : r->capact * 2;
		r->act = xreallocarray(r->act, r->capact, sizeof(*r->act));
	}
	a = &r->act[r->nact++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->e = e;
	if (medium != NULL) {
		a->medium = xstrdup(medium);
		a->address = xstrdup(address);
	}
	if (mxid != NULL)
		a->mxid = xstrdup(mxid);
	if (kind == ACT_ADD)
		r->nadd++;
	else if (kind == ACT_CHANGE)
		r->nchange++;
	else
		r->nremove++;
}

/* db_bindings_each(): one stored binding against the sources. */
static int
compare(void *arg, const char *medium, const char *address,
    const char *mxid, const char *origin)
{
	struct run	*r = arg;
	struct entry	*e;
	int		 ours = strcmp(origin, BINDING_BY_SYNC) == 0;

	if (ours)
		r->owned++;
	if ((e = set_find(&r->set, medium, address)) == NULL) {
		if (ours)
			act_push(r, ACT_REMOVE, NULL, medium, address, mxid);
		return 0;
	}
	e->bound = 1;
	if (ours) {
		if (strcmp(e->mxid, mxid) != 0)
			act_push(r, ACT_CHANGE, e, NULL, NULL, mxid);
	} else if (syncsrc_authoritative(&r->c->cfg, medium, address)) {
		/* A user's binding where the sources are authoritative:
		 * the source's replaces it (the same user ID too, so that
		 * sigil-sync owns it and removes it when the source does). */
		act_push(r, ACT_CHANGE, e, NULL, NULL, mxid);
		r->nadopt++;
	}
	return 0;
}

/* Prints the run's changes, one a line, for -n. */
static void
print_changes(const struct run *r)
{
	const struct act	*a;
	size_t			 i;

	for (i = 0; i < r->nact; i++) {
		a = &r->act[i];
		if (a->kind == ACT_REMOVE)
			printf("%s %s %s %s\n", act_name[a->kind], a->medium,
			    a->address, a->mxid);
		else if (a->kind == ACT_CHANGE)
			printf("%s %s %s %s -> %s\n", act_name[a->kind],
			    a->e->medium, a->e->address, a->mxid, a->e->mxid);
		else
			printf("%s %s %s %s\n", act_name[a->kind],
			    a->e->medium, a->e->address, a->e->mxid);
	}
	fflush(stdout);
}

/* Removes the run's ACT_REMOVE bindings, REMOVE_BATCH a statement.
 * Returns 0, or -1 when the database failed. */
static int
apply_removals(struct run *r)
{
	const char	**m, **a, **x;
	size_t		 i, n = 0;
	int		 rc = 0;

	m = xcalloc(REMOVE_BATCH, sizeof(*m));
	a = xcalloc(REMOVE_BATCH, sizeof(*a));
	x = xcalloc(REMOVE_BATCH, sizeof(*x));
	for (i = 0; i <= r->nact && rc == 0; i++) {
		if (i < r->nact && r->act[i].kind == ACT_REMOVE) {
			m[n] = r->act[i].medium;
			a[n] = r->act[i].address;
			x[n++] = r->act[i].mxid;
		}
		if (n > 0 && (n == REMOVE_BATCH || i == r->nact)) {
			if (db_unbind_synced(r->c->db, m, a, x, n) != DB_OK)
				rc = -1;
			n = 0;
		}
	}
	free(m);
	free(a);
	free(x);
	return rc;
}

/* Publishes the run's adds and changes.  Returns how many were, or -1
 * when one failed (the database). */
static int
apply_publish(struct run *r, size_t *done)
{
	const struct act	*a;
	size_t			 i;

	*done = 0;
	for (i = 0; i < r->nact && !stop_asked; i++) {
		a = &r->act[i];
		if (a->kind == ACT_REMOVE)
			continue;
		if (binding_publish_as(r->c, a->e->medium, a->e->address,
		    a->e->mxid, now_ms(), BINDING_BY_SYNC, NULL) == -1)
			return -1;
		(*done)++;
	}
	return 0;
}

static void
run_free(struct run *r)
{
	size_t	 i;

	for (i = 0; i < r->nact; i++) {
		free(r->act[i].medium);
		free(r->act[i].address);
		free(r->act[i].mxid);
	}
	free(r->act);
	set_free(&r->set);
	memset(r, 0, sizeof(*r));
}

/* Options of a run. */
struct opts {
	int	 dry;		/* -n */
	int	 force;		/* --force-remove */
};

/* The number of configured sources. */
static size_t
sources_configured(const struct cfg *cfg)
{
	size_t	 i, n = 0;

	for (i = 0; i < NSOURCES; i++)
		n += sources[i].configured(cfg) != 0;
	return n;
}

/*
 * One run.  Returns the exit status: 0 done, 1 a source or the database
 * failed, 2 the removal guard refused it.  Its figures go into m.
 */
static int
sync_run(struct ctx *c, const struct opts *o, struct metrics_sync *m)
{
	struct run	 r;
	char		 err[1024];
	size_t		 i, added = 0, k;
	int		 rc = 1;
	int64_t		 pct = c->cfg.sync_max_remove_percent;

	memset(&r, 0, sizeof(r));
	memset(m, 0, sizeof(*m));
	r.c = c;
	for (i = 0; i < NSOURCES; i++) {
		if (!sources[i].configured(&c->cfg))
			continue;
		if (sources[i].read(&c->cfg, take, &r, err,
		    sizeof(err)) == -1) {
			log_err("%s; nothing changed", err);
			goto out;
		}
	}
	if (r.skipped > SKIP_SAID)
		log_warn("skipped %zu entries in all (the first %d are above)",
		    r.skipped, SKIP_SAID);
	if (db_bindings_each(c->db, compare, &r) != DB_OK) {
		log_err("cannot read the bindings; nothing changed");
		goto out;
	}
	for (k = 0; k < r.set.n; k++)
		if (!r.set.e[k].bound)
			act_push(&r, ACT_ADD, &r.set.e[k], NULL, NULL, NULL);
	if (o->dry)
		print_changes(&r);
	if (r.nremove > 0 && (int64_t)r.nremove * 100 > (int64_t)r.owned *
	    pct) {
		if (!o->force) {
			log_err("removal guard: this run would remove %zu of "
			    "the %zu bindings sigil-sync made, more than "
			    "sync_max_remove_percent (%lld%%); nothing "
			    "changed.  Check the sources (%zu entries read); "
			    "run with --force-remove if they are right",
			    r.nremove, r.owned, (long long)pct, r.seen);
			m->refusals = 1;
			rc = 2;
			goto out;
		}
		log_warn("removal guard: --force-remove: removing %zu of the "
		    "%zu bindings sigil-sync made", r.nremove, r.owned);
	}
	if (o->dry) {
		rc = 0;
		goto out;
	}
	if (apply_publish(&r, &added) == -1 || apply_removals(&r) == -1) {
		log_err("the database failed after %zu of %zu adds and "
		    "changes; the next run does the rest", added,
		    r.nadd + r.nchange);
		goto out;
	}
	if (stop_asked)
		goto out;
	m->added = r.nadd;
	m->changed = r.nchange;
	m->removed = r.nremove;
	m->entries = (int64_t)r.seen;
	m->owned = (int64_t)(r.owned + r.nadd + r.nadopt - r.nremove);
	m->last_success = (int64_t)time(NULL);
	if (r.nact > 0 || r.skipped > 0)
		log_info("%zu entries read: %zu added, %zu changed, %zu "
		    "removed, %zu skipped", r.seen, r.nadd, r.nchange,
		    r.nremove, r.skipped);
	rc = 0;
out:
	m->skipped = r.skipped;
	m->errors = rc == 1;
	m->last_run = (int64_t)time(NULL);
	run_free(&r);
	return rc;
}

/*
 * One run, under the lock that keeps two from running at once (a slow
 * run from cron overlapping the next, a daemon and a hand-made run), its
 * figures recorded (not for -n, which writes nothing).  Returns as
 * sync_run(); 0 when another run holds the lock (this one did nothing).
 */
static int
sync_once(struct ctx *c, const struct opts *o)
{
	struct metrics_sync	 m;
	enum db_res		 dr;
	int			 rc;

	if (db_ready(c->db) != DB_READY ||
	    (dr = db_sync_lock(c->db, 1)) == DB_ERROR) {
		log_err("the database cannot be used; nothing changed");
		memset(&m, 0, sizeof(m));
		m.errors = 1;
		m.last_run = (int64_t)time(NULL);
		if (!o->dry)
			metrics_sync_record(c->cfg.metrics_dir, &m);
		return 1;
	}
	if (dr == DB_CONFLICT) {
		log_warn("another sigil-sync is running; this run does "
		    "nothing");
		return 0;
	}
	rc = sync_run(c, o, &m);
	db_sync_lock(c->db, 0);
	if (!o->dry)
		metrics_sync_record(c->cfg.metrics_dir, &m);
	return rc;
}

/* Sleeps s seconds, or less when a stop is asked. */
static void
sleep_s(int64_t s)
{
	int64_t	 until = now_ms() + s * 1000, left;

	while (!stop_asked && (left = until - now_ms()) > 0)
		stop_sleep(left > 60000 ? 60000 : (int)left);
}

static const struct app sync_app = {
	"sigil-sync", NULL, 0, { .db = &app_db, .key = &app_key },
};

int
main(int argc, char **argv)
{
	struct ctx		 ctx;
	struct opts		 o;
	const char		*logfile;
	int			 once, rc = 0;

	log_init(sync_app.name);
	if ((logfile = argv_value(argc, argv, "-l")) != NULL &&
	    log_open(logfile) == -1)
		return 1;
	memset(&o, 0, sizeof(o));
	o.dry = argv_has(argc, argv, "-n");
	o.force = argv_has(argc, argv, "--force-remove");
	once = argv_has(argc, argv, "--once") || o.dry;
	if (once)
		log_quiet_info(1);
	if (app_ctx_init(&sync_app, argc, argv, &ctx) == -1) {
		app_ctx_free(&ctx);
		return 1;
	}
	log_quiet_info(0);
	if (once && sources_configured(&ctx.cfg) == 0) {
		log_err("no source is configured (sync_sql_conninfo, "
		    "ldap_uri); nothing to do");
		app_ctx_free(&ctx);
		return 1;
	}
	if (once) {
		rc = sync_once(&ctx, &o);
		app_ctx_free(&ctx);
		return rc;
	}
	if (stop_signals_init() == -1) {
		app_ctx_free(&ctx);
		return 1;
	}
	if (sources_configured(&ctx.cfg) == 0)
		log_info("no source is configured (sync_sql_conninfo, "
		    "ldap_uri); idle");
	else
		log_info("syncing every %lld s", (long long)ctx.cfg.sync_interval);
	while (!stop_asked) {
		if (sources_configured(&ctx.cfg) == 0) {
			sleep_s(3600);
			continue;
		}
		rc = sync_once(&ctx, &o);
		sleep_s(rc == 1 && FAILED_WAIT_S <
		    ctx.cfg.sync_interval ? FAILED_WAIT_S :
		    ctx.cfg.sync_interval);
	}
	stop_signals_free();
	log_info("stopping");
	app_ctx_free(&ctx);
	return 0;
}
