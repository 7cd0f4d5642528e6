/*
 * sigil-notify: the daemon that delivers onbind callbacks.  Not a FastCGI
 * program: one process (or a few, on several hosts) beside the workers.
 *
 * sigil-bind queues a row in onbind_outbox, in the bind's own
 * transaction, and NOTIFYs; this daemon LISTENs, takes due rows with FOR
 * UPDATE SKIP LOCKED (so two daemons, or two slots of one, never deliver
 * one row at once), POSTs each to the homeserver's
 * /_matrix/federation/v1/3pid/onbind through common/http, and on 200
 * marks the invites it carried delivered (or deletes them) and drops the
 * row, all in that transaction.
 *
 * Up to onbind_concurrency deliveries run at once, each in a slot with
 * its own database connection (its row stays locked in its transaction)
 * and its own curl handle in one multi handle, each with http_budget
 * seconds: a homeserver that stalls holds back only its own delivery.  A failure sets the next attempt 5 s,
 * 10 s, 20 s... later, capped at onbind_retry_max.  Everything lives in
 * PostgreSQL, so a restart of the daemon, of the homeserver or of
 * PostgreSQL loses nothing.
 *
 *	sigil-notify -c /etc/sigil/sigil.conf [-l /var/log/sigil/notify.log]
 *	sigil-notify --once -c sigil.conf	(from cron, where no daemon
 *						 may run: a shared host)
 *
 * With --once it delivers what is due now (retries included), reschedules
 * what fails, and exits: 0, or 1 when the database could not be used.
 * Two runs at once (a slow run overlapping the next cron tick, two
 * hosts) never deliver one row twice, for the reason above.  With -l
 * its lines go to that file, opened again on SIGUSR1 (log rotation).
 *
 * With metrics_dir set, the outbox's rows and the age of its oldest due
 * row go into <metrics_dir>/notify.onbind (common/metrics.c) at least
 * every METRICS_EVERY_MS, and at the end of a --once run, with the
 * deliveries done and failed and the database's errors; sigil-status
 * serves them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "stop.h"
#include "util.h"

#define ONBIND_PATH		"/_matrix/federation/v1/3pid/onbind"
#define RETRY_FIRST_MS		5000LL
#define IDLE_WAIT_MS		60000	/* look again at least this often */
#define BUSY_WAIT_MS		1000	/* due rows another daemon holds */
#define DB_DOWN_WAIT_MS		2000
#define ONCE_MAX_MS		50000	/* --once: leave the next cron tick
					   its minute */
#define METRICS_EVERY_MS	2000	/* with metrics_dir: the outbox's
					   figures at least this often */

/* One delivery in flight: the row, locked in a transaction on db. */
struct slot {
	struct db		*db;	/* its own connection; lazily */
	struct db_outbox	 o;
	struct http_call	*call;	/* NULL: the slot is free */
	int			 busy;
};

static int64_t			 looked;	/* the outbox, last, now_ms() */
static int			 once;		/* --once: from cron */
static int			 news;		/* rows delivered or newly
						   failing: --once says so */

/* The delay before attempt number attempts + 1, in ms. */
static int64_t
retry_delay(const struct cfg *cfg, int64_t attempts)
{
	int64_t	 cap = cfg->onbind_retry_max * 1000, d = RETRY_FIRST_MS;

	while (attempts-- > 0 && d < cap)
		d *= 2;
	return d < cap ? d : cap;
}

/*
 * Says that the attempt on row o failed for why, and that the next is
 * delay ms away: a warning when the row's failure is new (its first, or
 * another reason than last time), else a line at info level (which a
 * --once run from cron keeps to itself, so that a row failing the same
 * way for days does not mail every run).
 */
static void
say_failure(const struct db_outbox *o, const char *why, int64_t delay)
{
	if (o->attempts == 0 || strcmp(o->last_error, why) != 0) {
		news++;
		log_warn("onbind %lld to %s: %s; attempt %lld failed, next in "
		    "%lld s", (long long)o->id, o->destination, why,
		    (long long)o->attempts + 1, (long long)(delay / 1000));
	} else if (!once)
		log_info("onbind %lld to %s: still %s; attempt %lld failed, "
		    "next in %lld s", (long long)o->id, o->destination, why,
		    (long long)o->attempts + 1, (long long)(delay / 1000));
}

/*
 * Ends the delivery in slot sl: what res and the answer hr (NULL when
 * nothing was sent) say goes into its row, and its transaction ends.
 * Returns 0, or -1 when the database failed.
 */
static int
deliver_end(struct ctx *c, struct slot *sl, enum http_res res,
    const struct http_resp *hr)
{
	enum db_res	 dr;
	char		 why[128];
	int64_t		 delay;
	int		 rc = 0;

	if (res == HTTP_OK && hr != NULL && hr->status == 200) {
		dr = db_outbox_done(sl->db, sl->o.id, now_ms(),
		    c->cfg.invite_delete_on_delivery);
		if (dr == DB_OK && db_commit(sl->db) == DB_OK)
			metrics_notify_delivery(1);
		else
			dr = DB_ERROR;
		if (dr == DB_OK)
			news++;
		if (dr == DB_OK)
			log_info("onbind %lld to %s: delivered after %lld "
			    "failed attempt(s)", (long long)sl->o.id,
			    sl->o.destination, (long long)sl->o.attempts);
	} else {
		if (res == HTTP_OK && hr != NULL)
			snprintf(why, sizeof(why), "HTTP %ld", hr->status);
		else
			snprintf(why, sizeof(why), "%s (%s)",
			    http_res_str(res), http_call_detail(sl->call));
		delay = retry_delay(&c->cfg, sl->o.attempts);
		dr = db_outbox_retry(sl->db, sl->o.id, now_ms() + delay, why);
		if (dr == DB_OK)
			dr = db_commit(sl->db);
		metrics_notify_delivery(0);
		say_failure(&sl->o, why, delay);
	}
	if (dr != DB_OK) {
		db_rollback(sl->db);
		rc = -1;
	}
	http_call_free(sl->call);
	sl->call = NULL;
	db_outbox_clear(&sl->o);
	sl->busy = 0;
	return rc;
}

/*
 * Takes one due delivery into the free slot sl and starts it.  Returns 1
 * when there was one, 0 when none is due, -1 when the database failed.
 */
static int
deliver_start(struct ctx *c, struct slot *sl)
{
	enum http_res	 res;
	enum db_res	 dr;

	if (sl->db == NULL)
		sl->db = db_open(c->cfg.database, "sigil-notify");
	if (db_ready(sl->db) != DB_READY || db_begin(sl->db) != DB_OK)
		return -1;
	if ((dr = db_outbox_next(sl->db, now_ms(), &sl->o)) != DB_OK) {
		db_rollback(sl->db);
		return dr == DB_NOTFOUND ? 0 : -1;
	}
	sl->busy = 1;
	http_budget_begin();
	res = http_call_post(sl->o.destination, ONBIND_PATH, sl->o.body,
	    strlen(sl->o.body), HTTP_CAP_ONBIND, sl, &sl->call);
	if (res != HTTP_OK && deliver_end(c, sl, res, NULL) == -1)
		return -1;
	return 1;
}

/*
 * Starts due deliveries in free slots.  Returns how many slots are busy
 * afterwards, or -1 when the database failed.
 */
static int
fill_slots(struct ctx *c, struct slot *slots, size_t n)
{
	size_t	 i;
	int	 busy = 0, rc = 0, more = 1;

	for (i = 0; i < n && !stop_asked; i++) {
		if (!slots[i].busy && more) {
			rc = deliver_start(c, &slots[i]);
			if (rc <= 0)
				more = 0;
		}
		busy += slots[i].busy;
	}
	return rc == -1 && busy == 0 ? -1 : busy;
}

/* Gives up the deliveries in flight: their rows stay due, untouched. */
static void
drop_slots(struct slot *slots, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (slots[i].busy) {
			http_call_free(slots[i].call);
			slots[i].call = NULL;
			db_rollback(slots[i].db);
			db_outbox_clear(&slots[i].o);
			slots[i].busy = 0;
		}
		if (slots[i].db != NULL)
			db_close(slots[i].db);
		slots[i].db = NULL;
	}
}

/*
 * Reads when the next delivery falls due (*due, ms) and how many rows
 * are queued, and puts the outbox's figures in the metrics (rows, and
 * how long ago the oldest due row fell due).  Returns 0, or -1 when the
 * database failed.
 */
static int
outbox_look(struct ctx *c, int64_t *due, int64_t *queued)
{
	int64_t	 now = now_ms();

	if (db_outbox_next_due(c->db, due, queued) != DB_OK)
		return -1;
	metrics_notify_outbox(*queued, *queued > 0 && *due <= now ?
	    now - *due : 0);
	looked = now;
	return 0;
}

/*
 * How long to sleep before looking for due deliveries again, in ms: with
 * metrics on, at most METRICS_EVERY_MS, so that their figures stay fresh.
 */
static int
next_wait(struct ctx *c)
{
	int64_t	 due, queued, now = now_ms();
	int	 cap = c->cfg.metrics_dir != NULL ? METRICS_EVERY_MS :
		    IDLE_WAIT_MS;

	if (outbox_look(c, &due, &queued) == -1)
		return DB_DOWN_WAIT_MS;
	if (queued == 0)
		return cap;
	if (due <= now)
		return BUSY_WAIT_MS < cap ? BUSY_WAIT_MS : cap;
	return due - now > cap ? cap : (int)(due - now);
}

/* With metrics on: the outbox's figures again when they are due. */
static void
outbox_look_due(struct ctx *c)
{
	int64_t	 due, queued;

	if (c->cfg.metrics_dir != NULL &&
	    now_ms() - looked >= METRICS_EVERY_MS)
		outbox_look(c, &due, &queued);
}

/*
 * --once: delivers every row due now, onbind_concurrency at a time, for
 * at most ONCE_MAX_MS, and gives up what is still in flight then (its
 * rows stay due for the next run).  Returns the exit status: 0, or 1
 * when the database failed.
 */
static int
deliver_due(struct ctx *c)
{
	struct slot		*slots, *sl;
	struct http_call	*done;
	const struct http_resp	*hr;
	enum http_res		 res;
	void			*arg;
	size_t			 nslots = (size_t)c->cfg.onbind_concurrency;
	int64_t			 until = now_ms() + ONCE_MAX_MS;
	int			 busy, rc = 0, n = 0;

	if (db_ready(c->db) != DB_READY)
		return 1;
	slots = xcalloc(nslots, sizeof(*slots));
	while (!stop_asked && now_ms() < until) {
		if ((busy = fill_slots(c, slots, nslots)) <= 0) {
			rc = busy == -1 ? 1 : 0;
			break;
		}
		if ((done = http_calls_run(BUSY_WAIT_MS, -1)) != NULL) {
			res = http_call_result(done, &hr, &arg);
			sl = arg;
			if (deliver_end(c, sl, res, hr) == -1)
				rc = 1;
			n++;
		}
	}
	drop_slots(slots, nslots);
	free(slots);
	if (c->cfg.metrics_dir != NULL && db_ready(c->db) == DB_READY)
		outbox_look(c, &(int64_t){ 0 }, &(int64_t){ 0 });
	if (news > 0)
		log_info("--once: %d delivery attempt(s), %d of them delivered "
		    "or failing anew", n, news);
	return rc;
}

static const struct app notify_app = {
	"sigil-notify", NULL, 0,
	{ .db = &app_db, .db_use = APP_LISTEN, .http = &app_http },
};

/* --once has no notifications to wait for. */
static const struct app notify_once_app = {
	"sigil-notify", NULL, 0, { .db = &app_db, .http = &app_http },
};

int
main(int argc, char **argv)
{
	struct ctx		 ctx;
	struct slot		*slots, *sl;
	struct http_call	*done;
	const struct http_resp	*hr;
	enum http_res		 res;
	char			 err[512];
	const char		*logfile;
	int			 rc = 0, ms, busy;
	size_t			 nslots;
	void			*arg;

	log_init(notify_app.name);
	if ((logfile = argv_value(argc, argv, "-l")) != NULL &&
	    log_open(logfile) == -1)
		return 1;
	if ((once = argv_has(argc, argv, "--once"))) {
		/* From cron: say nothing unless something happened. */
		log_quiet_info(1);
		if (app_ctx_init(&notify_once_app, argc, argv, &ctx) == -1) {
			app_ctx_free(&ctx);
			return 1;
		}
		log_quiet_info(0);
		if (metrics_notify_open(ctx.cfg.metrics_dir, err,
		    sizeof(err)) == -1) {
			log_err("%s", err);
			app_ctx_free(&ctx);
			return 1;
		}
		rc = deliver_due(&ctx);
		metrics_notify_close();
		app_ctx_free(&ctx);
		return rc;
	}
	if (app_ctx_init(&notify_app, argc, argv, &ctx) == -1) {
		app_ctx_free(&ctx);
		return 1;
	}
	if (metrics_notify_open(ctx.cfg.metrics_dir, err, sizeof(err)) == -1) {
		log_err("%s", err);
		app_ctx_free(&ctx);
		return 1;
	}
	if (stop_signals_init() == -1) {
		app_ctx_free(&ctx);
		return 1;
	}
	nslots = (size_t)ctx.cfg.onbind_concurrency;
	slots = xcalloc(nslots, sizeof(*slots));
	log_info("delivering onbind callbacks, %zu at a time", nslots);
	while (!stop_asked) {
		if (db_ready(ctx.db) != DB_READY) {
			stop_sleep(DB_DOWN_WAIT_MS);
			continue;
		}
		busy = fill_slots(&ctx, slots, nslots);
		if (stop_asked)
			break;
		if (busy > 0) {
			/* Look for more due rows at least every BUSY_WAIT_MS
			 * while deliveries run. */
			if ((done = http_calls_run(BUSY_WAIT_MS,
			    stop_wake_fd())) != NULL) {
				res = http_call_result(done, &hr, &arg);
				sl = arg;
				deliver_end(&ctx, sl, res, hr);
			}
			outbox_look_due(&ctx);
			continue;
		}
		rc = busy;
		ms = rc == -1 ? DB_DOWN_WAIT_MS : next_wait(&ctx);
		if (db_wait(ctx.db, ms, stop_wake_fd()) == -1)
			stop_sleep(DB_DOWN_WAIT_MS);
	}
	drop_slots(slots, nslots);
	free(slots);
	stop_signals_free();
	log_info("stopping");
	metrics_notify_close();
	app_ctx_free(&ctx);
	return 0;
}
