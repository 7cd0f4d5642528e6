/*
 * sigil-status: the API roots, /_matrix/identity/versions, and the answer
 * to every path no other program serves (nginx sends the rest of
 * /_matrix/identity/ here, and the dispatcher answers 404 M_UNRECOGNIZED).
 * For the operator, when metrics_dir is set: /_sigil/metrics, every
 * program's shared counters (common/metrics.c) in the Prometheus text
 * format, and /_sigil/status, the same as JSON with each worker (?full).
 * Both add each program's events (mails, texts, rate-limit refusals,
 * database errors) and sigil-notify's onbind figures (its own file).
 * The front passes /_sigil/ only from the operator's addresses.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "fcgi.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "req.h"
#include "resp.h"
#include "util.h"

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

/*
 * Every program's figures under metrics_dir into *progs and *n.  Returns
 * 0, or -1 with the error response in rs (metrics off: 404).
 */
static int
read_all(const struct ctx *c, struct resp *rs, struct metrics_program **progs,
    size_t *n)
{
	static char	 said[512];	/* the last error logged */
	char		 err[512];

	if (c->cfg.metrics_dir == NULL) {
		resp_err(rs, MX_UNRECOGNIZED, "Metrics are off (metrics_dir "
		    "is not set)");
		return -1;
	}
	if (metrics_read(c->cfg.metrics_dir, progs, n, err,
	    sizeof(err)) == -1) {
		/* Once, not on every scrape, while it stays the same. */
		if (strcmp(err, said) != 0)
			log_warn("%s", err);
		snprintf(said, sizeof(said), "%s", err);
		resp_err(rs, MX_UNKNOWN, "The metrics could not be read");
		return -1;
	}
	said[0] = '\0';
	return 0;
}

/* A label value: backslash and quote escaped, a newline dropped. */
static void
label_value(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s != '\n')
			buf_putc(b, *s);
	}
}

/*
 * The labels program="...",route="...",method="..." of route rt of
 * program p: a path served for two methods is two routes.
 */
static void
labels(struct buf *b, const struct metrics_program *p,
    const struct metrics_route_sum *rt)
{
	buf_puts(b, "program=\"");
	label_value(b, p->name);
	buf_puts(b, "\",route=\"");
	label_value(b, rt->name);
	buf_puts(b, "\",method=\"");
	label_value(b, rt->method);
	buf_putc(b, '"');
}

static uint64_t
route_count(const struct metrics_route_sum *rt)
{
	uint64_t	 n = 0;
	size_t		 k;

	for (k = 0; k < METRICS_CLASSES; k++)
		n += rt->cls[k];
	return n;
}

/* The pool figures sigil-supervise publishes, in exposition order. */
static const struct {
	const char	*name;		/* sigil_pool_<name> */
	const char	*type;
	const char	*help;
	size_t		 off;		/* of a uint64_t in pool_figures */
} pool_rows[] = {
#define POOL_ROW(name, type, field, help) \
	{ name, type, help, offsetof(struct pool_figures, field) }
	POOL_ROW("workers", "gauge", workers,
	    "Worker processes the supervisor runs now."),
	POOL_ROW("workers_min", "gauge", min,
	    "The pool's lower bound (equal to the upper: a static pool)."),
	POOL_ROW("workers_max", "gauge", max, "The pool's upper bound."),
	POOL_ROW("idle_timeout_seconds", "gauge", idle_timeout,
	    "A worker idle this long is stopped, down to the lower bound."),
	POOL_ROW("max_requests", "gauge", max_requests,
	    "A worker is replaced after this many requests (0: never)."),
	POOL_ROW("listen_queue", "gauge", queue,
	    "Connections waiting in the pool's socket for a worker."),
	POOL_ROW("listen_queue_max", "gauge", queue_max,
	    "The most connections seen waiting since the supervisor "
	    "started."),
	POOL_ROW("listen_queue_limit", "gauge", queue_limit,
	    "The socket's backlog: connections past it are refused."),
	POOL_ROW("max_reached_total", "counter", max_reached,
	    "Times every worker was busy at the upper bound with "
	    "connections waiting."),
	POOL_ROW("workers_grown_total", "counter", grown,
	    "Workers started because connections waited and all were "
	    "busy."),
	POOL_ROW("workers_shrunk_total", "counter", shrunk,
	    "Workers stopped after the idle timeout."),
	POOL_ROW("workers_recycled_total", "counter", recycled,
	    "Workers replaced after max_requests."),
	POOL_ROW("worker_restarts_total", "counter", restarts,
	    "Workers that exited or were killed unasked and were started "
	    "again."),
#undef POOL_ROW
};

static uint64_t
pool_value(const struct pool_figures *f, size_t row)
{
	return *(const uint64_t *)(const void *)((const char *)f +
	    pool_rows[row].off);
}

/*
 * Every live pool under c's metrics_dir into *pools and *n (freed by
 * the caller); none when the folder cannot be read.
 */
static void
read_pools(const struct ctx *c, struct pool_figures **pools, size_t *n)
{
	if (pool_read_all(c->cfg.metrics_dir, pools, n) == -1) {
		*pools = NULL;
		*n = 0;
	}
}

/* The pools' figures in the exposition format, into b. */
static void
pool_metrics(struct buf *b, const struct pool_figures *pools, size_t n)
{
	size_t	 row, i;

	for (row = 0; row < sizeof(pool_rows) / sizeof(pool_rows[0]); row++) {
		buf_printf(b, "# HELP sigil_pool_%s %s\n# TYPE sigil_pool_%s "
		    "%s\n", pool_rows[row].name, pool_rows[row].help,
		    pool_rows[row].name, pool_rows[row].type);
		for (i = 0; i < n; i++) {
			buf_printf(b, "sigil_pool_%s{program=\"",
			    pool_rows[row].name);
			label_value(b, pools[i].program);
			buf_printf(b, "\"} %llu\n",
			    (unsigned long long)pool_value(&pools[i], row));
		}
	}
}

/* The pool of program name among pools as a JSON object, or NULL. */
static cJSON *
pool_json(const char *name, const struct pool_figures *pools, size_t n)
{
	cJSON	*o;
	size_t	 i, row;

	for (i = 0; i < n && strcmp(pools[i].program, name) != 0; i++)
		;
	if (i == n)
		return NULL;
	o = cJSON_CreateObject();
	for (row = 0; row < sizeof(pool_rows) / sizeof(pool_rows[0]); row++)
		cJSON_AddNumberToObject(o, pool_rows[row].name,
		    (double)pool_value(&pools[i], row));
	return o;
}

/* One sample "name{program="p"<rest>} v" of the program named prog. */
static void
sample(struct buf *b, const char *name, const char *prog, const char *rest,
    uint64_t v)
{
	buf_printf(b, "%s{program=\"", name);
	label_value(b, prog);
	buf_printf(b, "\"%s} %llu\n", rest, (unsigned long long)v);
}

/*
 * The events of every program and of sigil-notify (nt, NULL when none
 * ran here) as counters: mails and texts by result, rate-limit refusals
 * by limit (a fixed set of names), database errors and reconnects.
 */
static void
expose_events(struct buf *b, const struct metrics_program *progs, size_t n,
    const struct metrics_notify *nt)
{
	static const struct {
		const char	*name, *help;
		int		 sent, failed;
	} pairs[] = {
		{ "sigil_mail_total", "Mails handed to the SMTP server (sent) "
		    "or not (failed).", METRICS_MAIL_SENT, METRICS_MAIL_FAILED },
		{ "sigil_sms_total", "Texts the SMS gateway accepted (sent) or "
		    "not (failed).", METRICS_SMS_SENT, METRICS_SMS_FAILED },
	};
	static const struct {
		const char	*name, *help;
		int		 event;
	} singles[] = {
		{ "sigil_db_errors_total", "Database statements, transactions "
		    "and connections that failed.", METRICS_DB_ERROR },
		{ "sigil_db_reconnects_total", "Database connections made again "
		    "after one was lost.", METRICS_DB_RECONNECT },
		{ "sigil_outbound_busy_total", "Requests refused (503) because "
		    "as many outbound calls as outbound_concurrency were "
		    "waiting already.", METRICS_OUTBOUND_BUSY },
		{ "sigil_outbound_remembered_failures_total", "Outbound calls "
		    "not made because the same call (a key fetch, a "
		    ".well-known) failed lately.", METRICS_OUTBOUND_REMEMBERED },
	};
	char		 rest[64];
	size_t		 i, k, l;
	uint64_t	 front;

	for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n",
		    pairs[k].name, pairs[k].help, pairs[k].name);
		for (i = 0; i < n; i++) {
			sample(b, pairs[k].name, progs[i].name,
			    ",result=\"sent\"", progs[i].events[pairs[k].sent]);
			sample(b, pairs[k].name, progs[i].name,
			    ",result=\"failed\"",
			    progs[i].events[pairs[k].failed]);
		}
	}
	buf_puts(b, "# HELP sigil_front_refusals_total Requests the web "
	    "front refused by its own limits before any worker saw them, "
	    "by status and limit (rate, connections, body, other).\n"
	    "# TYPE sigil_front_refusals_total counter\n");
	for (k = 0; k < METRICS_FRONT__MAX; k++) {
		for (front = 0, i = 0; i < n; i++)
			front += progs[i].front[k];
		buf_printf(b, "sigil_front_refusals_total{status=\"%d\","
		    "reason=\"%s\"} %llu\n", metrics_front_refusal[k].status,
		    metrics_front_refusal[k].reason,
		    (unsigned long long)front);
	}
	buf_puts(b, "# HELP sigil_ratelimit_refusals_total Requests refused "
	    "(429) by a rate limit, by the limit (ratelimit_<limit>).\n"
	    "# TYPE sigil_ratelimit_refusals_total counter\n");
	for (i = 0; i < n; i++)
		for (l = 0; l < METRICS_LIMITS; l++) {
			snprintf(rest, sizeof(rest), ",limit=\"%s\"",
			    metrics_limit_name(l));
			sample(b, "sigil_ratelimit_refusals_total",
			    progs[i].name, rest, progs[i].refused[l]);
		}
	for (k = 0; k < sizeof(singles) / sizeof(singles[0]); k++) {
		buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n",
		    singles[k].name, singles[k].help, singles[k].name);
		for (i = 0; i < n; i++)
			sample(b, singles[k].name, progs[i].name, "",
			    progs[i].events[singles[k].event]);
		if (nt != NULL)
			sample(b, singles[k].name, "notify", "",
			    nt->events[singles[k].event]);
	}
}

/* sigil-notify's onbind figures nt (NULL: none ran here: nothing). */
static void
expose_onbind(struct buf *b, const struct metrics_notify *nt)
{
	if (nt == NULL)
		return;
	buf_printf(b, "# HELP sigil_onbind_outbox_rows Onbind deliveries "
	    "queued in onbind_outbox.\n"
	    "# TYPE sigil_onbind_outbox_rows gauge\n"
	    "sigil_onbind_outbox_rows %lld\n"
	    "# HELP sigil_onbind_oldest_due_seconds Time since the oldest "
	    "due delivery fell due (0: none due).\n"
	    "# TYPE sigil_onbind_oldest_due_seconds gauge\n"
	    "sigil_onbind_oldest_due_seconds %.3f\n"
	    "# HELP sigil_onbind_deliveries_total Delivery attempts the "
	    "homeserver took (done) or not (failed, to be retried).\n"
	    "# TYPE sigil_onbind_deliveries_total counter\n"
	    "sigil_onbind_deliveries_total{result=\"done\"} %llu\n"
	    "sigil_onbind_deliveries_total{result=\"failed\"} %llu\n"
	    "# HELP sigil_onbind_last_refresh_timestamp_seconds When "
	    "sigil-notify last read the outbox (Unix time).\n"
	    "# TYPE sigil_onbind_last_refresh_timestamp_seconds gauge\n"
	    "sigil_onbind_last_refresh_timestamp_seconds %lld\n"
	    "# HELP sigil_onbind_notify_running 1 when the process that last "
	    "wrote these figures still runs (0 between cron runs).\n"
	    "# TYPE sigil_onbind_notify_running gauge\n"
	    "sigil_onbind_notify_running %d\n",
	    (long long)nt->rows, (double)nt->oldest_due_ms / 1000,
	    (unsigned long long)nt->done, (unsigned long long)nt->failed,
	    (long long)nt->refreshed, nt->alive);
}

/* GET /_sigil/metrics: the Prometheus text exposition format 0.0.4. */
static void
h_metrics(struct ctx *c, const struct req *r, struct resp *rs)
{
	struct metrics_program		*progs, *p;
	const struct metrics_route_sum	*rt;
	struct pool_figures		*pools;
	struct metrics_notify		 nt;
	struct buf			*b = &rs->body;
	size_t				 n, i, j, k, busy, npools;
	uint64_t			 cum;
	int				 have_nt;

	(void)r;
	if (read_all(c, rs, &progs, &n) == -1)
		return;
	buf_puts(b, "# HELP sigil_requests_total Requests answered, by "
	    "program, route, method and HTTP status class.\n"
	    "# TYPE sigil_requests_total counter\n");
	for (i = 0; i < n; i++)
		for (p = &progs[i], j = 0; j < p->nroutes; j++)
			for (k = 0; k < METRICS_CLASSES; k++) {
				buf_puts(b, "sigil_requests_total{");
				labels(b, p, &p->routes[j]);
				buf_printf(b, ",code_class=\"%s\"} %llu\n",
				    metrics_class_name[k], (unsigned long long)
				    p->routes[j].cls[k]);
			}
	buf_puts(b, "# HELP sigil_request_duration_seconds Time from "
	    "accepting a request to its response written.\n"
	    "# TYPE sigil_request_duration_seconds histogram\n");
	for (i = 0; i < n; i++)
		for (p = &progs[i], j = 0; j < p->nroutes; j++) {
			rt = &p->routes[j];
			for (cum = 0, k = 0; k < METRICS_BUCKETS; k++) {
				cum += rt->bucket[k];
				buf_puts(b, "sigil_request_duration_seconds_"
				    "bucket{");
				labels(b, p, rt);
				if (k < METRICS_BUCKETS - 1)
					buf_printf(b, ",le=\"%g\"} %llu\n",
					    metrics_bucket_le[k],
					    (unsigned long long)cum);
				else
					buf_printf(b, ",le=\"+Inf\"} %llu\n",
					    (unsigned long long)cum);
			}
			buf_puts(b, "sigil_request_duration_seconds_sum{");
			labels(b, p, rt);
			buf_printf(b, "} %.6f\n", (double)rt->sum_us / 1e6);
			buf_puts(b, "sigil_request_duration_seconds_count{");
			labels(b, p, rt);
			buf_printf(b, "} %llu\n", (unsigned long long)cum);
		}
	buf_puts(b, "# HELP sigil_requests_in_flight Requests being served "
	    "now.\n# TYPE sigil_requests_in_flight gauge\n");
	for (i = 0; i < n; i++)
		for (p = &progs[i], j = 0; j < p->nroutes; j++) {
			buf_puts(b, "sigil_requests_in_flight{");
			labels(b, p, &p->routes[j]);
			buf_printf(b, "} %u\n", p->routes[j].in_flight);
		}
	buf_puts(b, "# HELP sigil_workers Worker processes running, by "
	    "state.\n# TYPE sigil_workers gauge\n");
	for (i = 0; i < n; i++) {
		p = &progs[i];
		for (busy = 0, j = 0; j < p->nworkers; j++)
			busy += p->workers[j].busy != 0;
		buf_puts(b, "sigil_workers{program=\"");
		label_value(b, p->name);
		buf_printf(b, "\",state=\"busy\"} %zu\n", busy);
		buf_puts(b, "sigil_workers{program=\"");
		label_value(b, p->name);
		buf_printf(b, "\",state=\"idle\"} %zu\n", p->nworkers - busy);
	}
	have_nt = metrics_notify_read(c->cfg.metrics_dir, &nt);
	expose_events(b, progs, n, have_nt ? &nt : NULL);
	expose_onbind(b, have_nt ? &nt : NULL);
	free(progs);
	read_pools(c, &pools, &npools);
	pool_metrics(b, pools, npools);
	free(pools);
	rs->status = 200;
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* The counts of rt as {"2xx": n, ...}. */
static cJSON *
class_counts(const uint64_t *cls)
{
	cJSON	*o = cJSON_CreateObject();
	size_t	 k;

	for (k = 0; k < METRICS_CLASSES; k++)
		cJSON_AddNumberToObject(o, metrics_class_name[k],
		    (double)cls[k]);
	return o;
}

/* The events of a program (or sigil-notify: refused NULL) into po. */
static void
events_json(cJSON *po, const uint64_t *ev, const uint64_t *refused)
{
	cJSON	*o;
	size_t	 l;

	if (refused != NULL) {
		o = cJSON_AddObjectToObject(po, "mail");
		cJSON_AddNumberToObject(o, "sent",
		    (double)ev[METRICS_MAIL_SENT]);
		cJSON_AddNumberToObject(o, "failed",
		    (double)ev[METRICS_MAIL_FAILED]);
		o = cJSON_AddObjectToObject(po, "sms");
		cJSON_AddNumberToObject(o, "sent", (double)ev[METRICS_SMS_SENT]);
		cJSON_AddNumberToObject(o, "failed",
		    (double)ev[METRICS_SMS_FAILED]);
		o = cJSON_AddObjectToObject(po, "ratelimit_refusals");
		for (l = 0; l < METRICS_LIMITS; l++)
			cJSON_AddNumberToObject(o, metrics_limit_name(l),
			    (double)refused[l]);
	}
	o = cJSON_AddObjectToObject(po, "db");
	cJSON_AddNumberToObject(o, "errors", (double)ev[METRICS_DB_ERROR]);
	cJSON_AddNumberToObject(o, "reconnects",
	    (double)ev[METRICS_DB_RECONNECT]);
	o = cJSON_AddObjectToObject(po, "outbound");
	cJSON_AddNumberToObject(o, "busy", (double)ev[METRICS_OUTBOUND_BUSY]);
	cJSON_AddNumberToObject(o, "remembered_failures",
	    (double)ev[METRICS_OUTBOUND_REMEMBERED]);
}

/* sigil-notify's figures under dir as {"outbox_rows": ...}, or NULL. */
static cJSON *
onbind_json(const char *dir)
{
	struct metrics_notify	 nt;
	cJSON			*o, *d;

	if (!metrics_notify_read(dir, &nt))
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "outbox_rows", (double)nt.rows);
	cJSON_AddNumberToObject(o, "oldest_due_ms", (double)nt.oldest_due_ms);
	d = cJSON_AddObjectToObject(o, "deliveries");
	cJSON_AddNumberToObject(d, "done", (double)nt.done);
	cJSON_AddNumberToObject(d, "failed", (double)nt.failed);
	cJSON_AddNumberToObject(o, "refreshed", (double)nt.refreshed);
	cJSON_AddNumberToObject(o, "pid", (double)nt.pid);
	cJSON_AddBoolToObject(o, "running", nt.alive);
	events_json(o, nt.events, NULL);
	return o;
}

/*
 * The member m as plain text lines "<prefix><name>: <value>", an object
 * member as "<name>.<key>", an array of objects as "<name>[<first
 * value>].<key>" (a process's pid), or "<name>[<first> <second>].<key>"
 * when the first two are strings (a route's name and method: "v2/terms
 * POST"), so that no two lines share a name.
 */
static void
text_member(struct buf *b, const char *prefix, const cJSON *m)
{
	const cJSON	*e, *id;
	char		 sub[256];

	if (cJSON_IsNumber(m))
		buf_printf(b, "%s%s: %.0f\n", prefix, m->string,
		    m->valuedouble);
	else if (cJSON_IsString(m))
		buf_printf(b, "%s%s: %s\n", prefix, m->string,
		    m->valuestring);
	else if (cJSON_IsObject(m)) {
		snprintf(sub, sizeof(sub), "%s%s.", prefix, m->string);
		for (e = m->child; e != NULL; e = e->next)
			text_member(b, sub, e);
	} else if (cJSON_IsArray(m))
		for (e = m->child; e != NULL; e = e->next) {
			if ((id = e->child) == NULL)
				continue;
			if (cJSON_IsNumber(id))
				snprintf(sub, sizeof(sub), "%s%s[%.0f].",
				    prefix, m->string, id->valuedouble);
			else if (cJSON_IsString(id) && cJSON_IsString(id->next)) {
				snprintf(sub, sizeof(sub), "%s%s[%s %s].",
				    prefix, m->string, id->valuestring,
				    id->next->valuestring);
				id = id->next;
			} else
				snprintf(sub, sizeof(sub), "%s%s[%s].",
				    prefix, m->string, cJSON_IsString(id) ?
				    id->valuestring : "");
			for (id = id->next; id != NULL; id = id->next)
				text_member(b, sub, id);
		}
}

/*
 * /_sigil/status?text: each program's figures as lines, a blank line
 * after each, then the other members of the status object o (onbind).
 */
static void
status_text(struct buf *b, const cJSON *o)
{
	const cJSON	*po, *m;

	for (po = cJSON_GetObjectItemCaseSensitive(o, "programs")->child;
	    po != NULL; po = po->next) {
		for (m = po->child; m != NULL; m = m->next)
			text_member(b, "", m);
		buf_putc(b, '\n');
	}
	for (m = o->child; m != NULL; m = m->next)
		if (strcmp(m->string, "programs") != 0)
			text_member(b, "", m);
}

/*
 * The routes of p as [{route, method, requests, count, in_flight,
 * duration_ms_total}], adding each route's counts by class to total and
 * its requests in flight to *inflight.
 */
static cJSON *
routes_json(const struct metrics_program *p, uint64_t *total,
    size_t *inflight)
{
	const struct metrics_route_sum	*rt;
	cJSON				*routes, *ro;
	uint64_t			 ms;
	size_t				 j, k;

	routes = cJSON_CreateArray();
	for (j = 0; j < p->nroutes; j++) {
		rt = &p->routes[j];
		for (k = 0; k < METRICS_CLASSES; k++)
			total[k] += rt->cls[k];
		*inflight += rt->in_flight;
		ro = cJSON_CreateObject();
		cJSON_AddItemToArray(routes, ro);
		cJSON_AddStringToObject(ro, "route", rt->name);
		cJSON_AddStringToObject(ro, "method", rt->method);
		cJSON_AddItemToObject(ro, "requests", class_counts(rt->cls));
		cJSON_AddNumberToObject(ro, "count", (double)route_count(rt));
		cJSON_AddNumberToObject(ro, "in_flight",
		    (double)rt->in_flight);
		ms = rt->sum_us / 1000;		/* whole milliseconds */
		cJSON_AddNumberToObject(ro, "duration_ms_total", (double)ms);
	}
	return routes;
}

/* Each worker of p as {pid, state, requests, route, method, duration_ms},
 * into the array wl. */
static void
processes_json(cJSON *wl, const struct metrics_program *p)
{
	const struct metrics_worker_view *w;
	cJSON				*wo;
	uint64_t			 ms;
	size_t				 j;

	for (j = 0; j < p->nworkers; j++) {
		w = &p->workers[j];
		wo = cJSON_CreateObject();
		cJSON_AddItemToArray(wl, wo);
		cJSON_AddNumberToObject(wo, "pid", (double)w->pid);
		cJSON_AddStringToObject(wo, "state", w->busy ? "busy" : "idle");
		cJSON_AddNumberToObject(wo, "requests", (double)w->served);
		cJSON_AddStringToObject(wo, "route", w->route);
		cJSON_AddStringToObject(wo, "method", w->method);
		ms = w->duration_us / 1000;
		cJSON_AddNumberToObject(wo, "duration_ms", (double)ms);
	}
}

/* Adds "program" and its workers total, busy and idle to po. */
static void
workers_json(cJSON *po, const char *name, size_t workers, size_t busy)
{
	cJSON_AddStringToObject(po, "program", name);
	cJSON_AddNumberToObject(po, "workers", (double)workers);
	cJSON_AddNumberToObject(po, "busy", (double)busy);
	cJSON_AddNumberToObject(po, "idle", (double)(workers - busy));
}

/*
 * Program p's status object: workers, requests by class and in flight,
 * routes, its pool among pools, its events, and with full its processes.
 */
static cJSON *
program_json(const struct metrics_program *p,
    const struct pool_figures *pools, size_t npools, int full)
{
	uint64_t	 total[METRICS_CLASSES];
	size_t		 j, busy, inflight = 0;
	cJSON		*po, *routes, *pool;

	po = cJSON_CreateObject();
	for (busy = 0, j = 0; j < p->nworkers; j++)
		busy += p->workers[j].busy != 0;
	workers_json(po, p->name, p->nworkers, busy);
	memset(total, 0, sizeof(total));
	routes = routes_json(p, total, &inflight);
	cJSON_AddItemToObject(po, "requests", class_counts(total));
	cJSON_AddNumberToObject(po, "in_flight", (double)inflight);
	cJSON_AddItemToObject(po, "routes", routes);
	if ((pool = pool_json(p->name, pools, npools)) != NULL)
		cJSON_AddItemToObject(po, "pool", pool);
	events_json(po, p->events, p->refused);
	if (full)
		processes_json(cJSON_AddArrayToObject(po, "processes"), p);
	return po;
}

/*
 * The status object: {programs: [...], onbind}: each program with
 * counters (progs), then each pool whose program has none yet (none
 * started), then sigil-notify's figures under dir when it ran.
 */
static cJSON *
status_json(const struct metrics_program *progs, size_t n,
    const struct pool_figures *pools, size_t npools, const char *dir,
    int full)
{
	cJSON	*o, *list, *po;
	size_t	 i, j;

	o = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(o, "programs");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(list, program_json(&progs[i], pools,
		    npools, full));
	for (i = 0; i < npools; i++) {
		for (j = 0; j < n && strcmp(progs[j].name,
		    pools[i].program) != 0; j++)
			;
		if (j < n)
			continue;
		po = cJSON_CreateObject();
		cJSON_AddItemToArray(list, po);
		workers_json(po, pools[i].program, 0, 0);
		cJSON_AddItemToObject(po, "pool", pool_json(pools[i].program,
		    pools, npools));
	}
	if ((po = onbind_json(dir)) != NULL)
		cJSON_AddItemToObject(o, "onbind", po);
	return o;
}

/*
 * GET /_sigil/status[?full][&text]: per program its workers (total, busy,
 * idle), requests by class and in flight, and per route the same with
 * the time spent; with ?full each worker: pid, state, requests served,
 * its current route and for how long (idle: its last one's); under
 * sigil-supervise its pool (bounds, listen queue, starts and stops).
 * Times in whole milliseconds: responses are canonical JSON, which has
 * no fractions.  ?text: the same as "name: value" lines.
 * Each program's events too, and "onbind": sigil-notify's figures,
 * when one ran here.
 */
static void
h_status(struct ctx *c, const struct req *r, struct resp *rs)
{
	struct metrics_program	*progs;
	struct pool_figures	*pools;
	size_t			 n, npools;
	cJSON			*o;

	if (read_all(c, rs, &progs, &n) == -1)
		return;
	read_pools(c, &pools, &npools);
	o = status_json(progs, n, pools, npools, c->cfg.metrics_dir,
	    req_query(r, "full") != NULL);
	free(progs);
	free(pools);
	if (req_query(r, "text") != NULL) {
		rs->status = 200;
		rs->content_type = "text/plain; charset=utf-8";
		status_text(&rs->body, o);
	} else
		resp_json(rs, 200, o);
	cJSON_Delete(o);
}

/*
 * The slot of metrics_front_refusal[] for a refusal of status by the
 * front's limit reason: that pair, else the status's "other", else its
 * last.  Returns METRICS_FRONT__MAX for a status that is not counted.
 */
static size_t
front_kind(int64_t status, const char *reason)
{
	size_t	 k, found = METRICS_FRONT__MAX;

	for (k = 0; k < METRICS_FRONT__MAX; k++) {
		if (metrics_front_refusal[k].status != status)
			continue;
		if (reason != NULL &&
		    strcmp(metrics_front_refusal[k].reason, reason) == 0)
			return k;
		if (found == METRICS_FRONT__MAX ||
		    strcmp(metrics_front_refusal[found].reason, "other") != 0)
			found = k;
	}
	return found;
}

/*
 * GET /_sigil/front-refusal?reason=...: the web front's error page for a
 * request it refused by its own limits before any worker saw it
 * (nginx's limit_req, limit_conn, client_max_body_size; Apache's
 * ModSecurity rate rule and LimitRequestBody), which the front sends
 * here (error_page, ErrorDocument; deploy/errors) with the status in
 * REDIRECT_STATUS.  Counts it (sigil_front_refusals_total) and answers
 * what the front's own page says for that status.  Only the front's
 * redirect carries REDIRECT_STATUS (no client can set a FastCGI
 * parameter): any other request, or a status not counted, is an
 * unknown path.
 */
static void
h_front_refusal(struct ctx *c, const struct req *r, struct resp *rs)
{
	int64_t		 status;
	size_t		 k;
	cJSON		*extra;

	(void)c;
	if (r->redirect_status == NULL ||
	    parse_int64(r->redirect_status, 400, 599, &status) == -1 ||
	    (k = front_kind(status, req_query(r, "reason"))) ==
	    METRICS_FRONT__MAX) {
		resp_err(rs, MX_UNRECOGNIZED, NULL);
		return;
	}
	metrics_front_refused((enum metrics_front)k);
	if (status == 429) {
		extra = cJSON_CreateObject();
		cJSON_AddNumberToObject(extra, "retry_after_ms", 1000);
		resp_err_with(rs, MX_LIMIT_EXCEEDED, extra,
		    "Too many requests");
		rs->retry_after = 1;
	} else
		resp_err(rs, MX_TOO_LARGE, "Request body too large");
}

static const struct route routes[] = {
	{ METHOD_GET, API_ROOT, "versions", h_versions, AUTH_NONE },
	{ METHOD_GET, API_V1 | API_V2, "", h_ping, AUTH_NONE },
	{ METHOD_GET, API_OPS, "metrics", h_metrics, AUTH_NONE },
	{ METHOD_GET, API_OPS, "status", h_status, AUTH_NONE },
	{ METHOD_GET, API_OPS, "front-refusal", h_front_refusal, AUTH_NONE },
};

static const struct app status_app = {
	"sigil-status", routes, sizeof(routes) / sizeof(routes[0]),
	{ 0 },			/* no part: no libpq, libcurl, libcrypto */
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&status_app, argc, argv);
}
