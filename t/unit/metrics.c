/*
 * Unit tests for common/metrics: off costs nothing and makes no file; a
 * worker's requests counted by route, method, class and bucket and read
 * back summed (a path served for GET and POST is two routes, each with
 * its own counts); a second worker (a process) beside it, whose counts outlive
 * it; a changed route table starts a new file; a foreign file is
 * skipped; a folder that cannot be used is an error naming it for -t,
 * and a worker serves uncounted without it; a file truncated under a
 * worker costs it no more than the request then under way (it counts on
 * in a new file).  Events (mails, texts, database) and refusals counted by limit name, a limit
 * not of the configuration as "other", nothing while off; sigil-notify's
 * file: the outbox, deliveries and events, kept over runs, a dead
 * writer told apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "req.h"
#include "tap.h"

/* Two route tables of the program sigil-test: before and after a change. */
static const struct metrics_path routes1[] = {
	{ "thing", API_V1 | API_V2, METHOD_GET },
	{ "versions", API_ROOT, METHOD_GET },
	{ "thing", API_V2, METHOD_POST },
};
static const struct metrics_path routes2[] = {
	{ "other-thing/*", API_V2, METHOD_GET },
};

#define APP1	"sigil-test", routes1, 3
#define APP2	"sigil-test", routes2, 1

/* The route named name of method (NULL: any) in p, or NULL. */
static const struct metrics_route_sum *
route_of(const struct metrics_program *p, const char *name,
    const char *method)
{
	size_t	 i;

	for (i = 0; i < p->nroutes; i++)
		if (strcmp(p->routes[i].name, name) == 0 && (method == NULL ||
		    strcmp(p->routes[i].method, method) == 0))
			return &p->routes[i];
	return NULL;
}

/* The route named name in p, of method GET ("other": any), or NULL. */
static const struct metrics_route_sum *
route(const struct metrics_program *p, const char *name)
{
	return route_of(p, name, strcmp(name, "other") == 0 ? "any" : "GET");
}

int
main(void)
{
	char				 dir[] = "/tmp/sigil-metrics-XXXXXX";
	char				 err[512] = "", path[600];
	struct metrics_program		*progs = NULL;
	const struct metrics_route_sum	*rt;
	size_t				 n = 99;
	struct stat			 st;
	FILE				*f;
	uint64_t			 b;
	pid_t				 pid;
	int				 status;
	struct metrics_notify		 nt;
	size_t				 l;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/test.metrics", dir);

	/* Off: nothing happens. */
	ok(metrics_open(NULL, APP1, 1, err, sizeof(err)) == 0, "off opens");
	metrics_begin();
	metrics_route(0, API_V1, METHOD_GET);
	metrics_end(200);
	metrics_count(METRICS_MAIL_SENT);
	metrics_refused(RATELIMIT_ADDRESS);
	metrics_notify_outbox(5, 5);
	metrics_notify_delivery(1);
	ok(metrics_notify_open(NULL, err, sizeof(err)) == 0 &&
	    metrics_notify_read(dir, &nt) == 0, "off: no notify file");
	ok(metrics_read(dir, &progs, &n, err, sizeof(err)) == 0 && n == 0,
	    "off: no file");
	free(progs);

	/* On: four requests by one worker. */
	ok(metrics_open(dir, APP1, 1, err, sizeof(err)) == 0, "on opens %s",
	    err);
	metrics_begin();
	metrics_route(0, API_V2, METHOD_GET);
	metrics_end(200);
	metrics_begin();
	metrics_route(0, API_V2, METHOD_GET);
	metrics_end(429);
	metrics_begin();
	metrics_end(404);		/* no route: "other" */
	metrics_begin();
	metrics_route(2, API_V2, METHOD_POST);
	metrics_end(500);
	metrics_begin();
	metrics_route(1, API_ROOT, METHOD_GET);
	metrics_end(503);
	ok(metrics_read(dir, &progs, &n, err, sizeof(err)) == 0 && n == 1,
	    "one program read");
	is_str(progs[0].name, "test", "named without sigil-");
	is_int((long long)progs[0].nroutes, 5,
	    "other, v1, v2 GET, v2 POST and root");
	for (b = 0, l = 0; l < progs[0].nroutes; l++)
		for (n = l + 1; n < progs[0].nroutes; n++)
			b += strcmp(progs[0].routes[l].name,
			    progs[0].routes[n].name) == 0 &&
			    strcmp(progs[0].routes[l].method,
			    progs[0].routes[n].method) == 0;
	is_int((long long)b, 0, "no two routes share a name and method");
	ok((rt = route_of(&progs[0], "v2/thing", "POST")) != NULL &&
	    rt->cls[3] == 1 && rt->cls[0] + rt->cls[2] == 0,
	    "v2/thing POST: its own 5xx, none of GET's");
	ok((rt = route_of(&progs[0], "v1/thing", NULL)) != NULL &&
	    strcmp(rt->method, "GET") == 0 &&
	    route_of(&progs[0], "v1/thing", "POST") == NULL,
	    "v1/thing: GET only, as its table has it");
	ok((rt = route(&progs[0], "v2/thing")) != NULL, "v2/thing counted");
	if (rt != NULL) {
		is_int((long long)rt->cls[0], 1, "its 2xx");
		is_int((long long)rt->cls[2], 1, "its 4xx");
		for (b = 0, n = 0; n < METRICS_BUCKETS; n++)
			b += rt->bucket[n];
		is_int((long long)b, 2, "two in its histogram");
		is_int((long long)rt->in_flight, 0, "none in flight");
	}
	ok((rt = route(&progs[0], "v1/thing")) != NULL &&
	    rt->cls[0] + rt->cls[2] == 0, "v1/thing: none");
	ok((rt = route(&progs[0], "other")) != NULL && rt->cls[2] == 1,
	    "the 404 in other, of method any");
	ok((rt = route(&progs[0], "versions")) != NULL && rt->cls[3] == 1,
	    "the 503 in versions, 5xx");
	is_int((long long)progs[0].nworkers, 1, "one worker");
	is_int((long long)progs[0].workers[0].pid, (long long)getpid(),
	    "this process");
	is_int((long long)progs[0].workers[0].served, 5, "served 5");
	is_int(progs[0].workers[0].busy, 0, "idle");
	is_str(progs[0].workers[0].route, "versions", "its last route");
	is_str(progs[0].workers[0].method, "GET", "and its method");
	for (b = 0, l = 0; l < METRICS_EVENTS; l++)
		b += progs[0].events[l];
	for (l = 0; l < METRICS_LIMITS; l++)
		b += progs[0].refused[l];
	is_int((long long)b, 0, "no events yet (none counted while off)");
	free(progs);

	/* Events, and refusals by the limit's name. */
	metrics_count(METRICS_MAIL_SENT);
	metrics_count(METRICS_MAIL_SENT);
	metrics_count(METRICS_MAIL_FAILED);
	metrics_count(METRICS_SMS_FAILED);
	metrics_count(METRICS_DB_ERROR);
	metrics_count(METRICS_DB_RECONNECT);
	metrics_count(METRICS_EVENTS);		/* not an event: ignored */
	metrics_refused(RATELIMIT_LOOKUP_IP);
	metrics_refused(RATELIMIT_LOOKUP_IP);
	metrics_refused(RATELIMIT_INVITE_USER);
	metrics_refused(RATELIMIT__MAX);	/* not the configuration's */
	metrics_read(dir, &progs, &n, err, sizeof(err));
	is_int((long long)progs[0].events[METRICS_MAIL_SENT], 2, "mails sent");
	is_int((long long)progs[0].events[METRICS_MAIL_FAILED], 1,
	    "mails failed");
	is_int((long long)progs[0].events[METRICS_SMS_SENT], 0, "texts sent");
	is_int((long long)progs[0].events[METRICS_SMS_FAILED], 1,
	    "texts failed");
	is_int((long long)progs[0].events[METRICS_DB_ERROR], 1, "db errors");
	is_int((long long)progs[0].events[METRICS_DB_RECONNECT], 1,
	    "db reconnects");
	for (l = 0; l < METRICS_LIMITS; l++) {
		if (strcmp(metrics_limit_name(l), "lookup_ip") == 0)
			is_int((long long)progs[0].refused[l], 2,
			    "refused by lookup_ip");
		else if (strcmp(metrics_limit_name(l), "invite_user") == 0)
			is_int((long long)progs[0].refused[l], 1,
			    "refused by invite_user");
		else if (strcmp(metrics_limit_name(l), "other") == 0)
			is_int((long long)progs[0].refused[l], 1,
			    "a limit not of the configuration: other");
		else if (progs[0].refused[l] != 0)
			ok(0, "refused by %s", metrics_limit_name(l));
	}
	free(progs);

	/* Another worker, which dies without closing: it does not wait on
	 * the first one's lock, takes another row, and its counts stay.
	 * The first one opens again first, so as to map the file that
	 * exists (the common case: every worker but the first). */
	metrics_close();
	ok(metrics_open(dir, APP1, 1, err, sizeof(err)) == 0, "reopens");
	fflush(stdout);		/* the child must not print our TAP again */
	if ((pid = fork()) == 0) {
		alarm(60);	/* a lock wait fails the test, under valgrind too */
		if (metrics_open(dir, APP1, 1, err, sizeof(err)) == -1)
			_exit(2);
		metrics_begin();
		metrics_route(0, API_V2, METHOD_GET);
		metrics_end(201);
		/* Its memory freed for valgrind's leak check (which fails
		 * the child otherwise); a worker killed outright leaves its
		 * row claimed, which metrics_read() counts as no worker all
		 * the same (its pid is gone). */
		metrics_close();
		_exit(0);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "a second worker opens while the "
	    "first has it mapped");
	metrics_read(dir, &progs, &n, err, sizeof(err));
	is_int((long long)progs[0].nworkers, 1, "the dead one is not a worker");
	is_int((long long)route(&progs[0], "v2/thing")->cls[0], 2,
	    "its request is counted");
	free(progs);

	/* Busy: in flight on its route. */
	metrics_begin();
	metrics_route(0, API_V1, METHOD_GET);
	metrics_read(dir, &progs, &n, err, sizeof(err));
	ok(progs[0].workers[0].busy && route(&progs[0], "v1/thing")
	    ->in_flight == 1, "a request under way is in flight");
	free(progs);
	metrics_end(200);

	/* Closed: the row is given back, its counts stay. */
	metrics_close();
	metrics_read(dir, &progs, &n, err, sizeof(err));
	is_int((long long)progs[0].nworkers, 0, "no worker after close");
	is_int((long long)route(&progs[0], "v2/thing")->cls[0], 2,
	    "the counts stay");
	free(progs);

	/* Another route table: a new file. */
	ok(metrics_open(dir, APP2, 1, err, sizeof(err)) == 0,
	    "reopened with other routes");
	metrics_read(dir, &progs, &n, err, sizeof(err));
	ok(route(&progs[0], "v2/other-thing/*") != NULL &&
	    route(&progs[0], "v2/thing") == NULL, "the new routes");
	free(progs);
	metrics_close();

	/* A foreign file: skipped. */
	snprintf(path, sizeof(path), "%s/junk.metrics", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("not ours\n", f);
		fclose(f);
	}
	ok(metrics_read(dir, &progs, &n, err, sizeof(err)) == 0 && n == 1,
	    "a foreign file is skipped");
	free(progs);
	unlink(path);

	/* sigil-notify's file: made, written, read. */
	ok(metrics_notify_open(dir, err, sizeof(err)) == 0, "notify opens %s",
	    err);
	metrics_notify_outbox(3, 1500);
	metrics_notify_delivery(1);
	metrics_notify_delivery(0);
	metrics_notify_delivery(0);
	metrics_count(METRICS_DB_ERROR);
	ok(metrics_notify_read(dir, &nt) == 1, "notify read");
	is_int(nt.rows, 3, "outbox rows");
	is_int(nt.oldest_due_ms, 1500, "oldest due");
	is_int((long long)nt.done, 1, "deliveries done");
	is_int((long long)nt.failed, 2, "deliveries failed");
	is_int((long long)nt.events[METRICS_DB_ERROR], 1, "its db error");
	is_int((long long)nt.pid, (long long)getpid(), "written by us");
	ok(nt.alive && nt.refreshed >= (int64_t)time(NULL) - 5,
	    "alive and refreshed now");
	metrics_notify_close();
	metrics_count(METRICS_DB_ERROR);	/* closed: not counted */
	/* A run from cron: adds to the counts, and is gone afterwards. */
	fflush(stdout);
	if ((pid = fork()) == 0) {
		if (metrics_notify_open(dir, err, sizeof(err)) == -1)
			_exit(2);
		metrics_notify_outbox(0, 0);
		metrics_notify_delivery(1);
		metrics_notify_close();
		_exit(0);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "a --once run writes it");
	ok(metrics_notify_read(dir, &nt) == 1 && nt.done == 2 &&
	    nt.failed == 2 && nt.rows == 0 && nt.events[METRICS_DB_ERROR] == 1,
	    "its counts add up, its figures replace");
	ok(nt.pid == pid && !nt.alive, "its writer is known to be gone");
	ok(metrics_read(dir, &progs, &n, err, sizeof(err)) == 0 && n == 1,
	    "not taken for a program's file");
	free(progs);
	/* A file of another layout is made anew. */
	snprintf(path, sizeof(path), "%s/notify.onbind", dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("not ours\n", f);
		fclose(f);
	}
	ok(metrics_notify_read(dir, &nt) == 0, "a foreign notify file: none");
	ok(metrics_notify_open(dir, err, sizeof(err)) == 0 &&
	    metrics_notify_read(dir, &nt) == 1 && nt.done == 0,
	    "made anew from zero");
	/* Truncated under sigil-notify: it lives, and writes on into a
	 * new file from its next look at the outbox. */
	metrics_notify_outbox(1, 0);
	if (getenv("SIGIL_VALGRIND") != NULL)	/* see t/unit/shmfile.c */
		ok(1, "# SKIP the notify file truncated, under valgrind");
	else {
		ok(truncate(path, 0) == 0, "the notify file is truncated");
		metrics_notify_outbox(2, 0);	/* lost: private memory */
		ok(metrics_notify_read(dir, &nt) == 0,
		    "none to read meanwhile");
		metrics_notify_outbox(4, 0);	/* mapped anew */
		ok(metrics_notify_read(dir, &nt) == 1 && nt.rows == 4,
		    "a new file with the next figures");
	}
	metrics_notify_close();
	unlink(path);

	/* With -t: the folder is checked, no file made. */
	snprintf(path, sizeof(path), "%s/test.metrics", dir);
	unlink(path);
	ok(metrics_open(dir, APP1, 0, err, sizeof(err)) == 0, "-t checks");
	metrics_begin();
	metrics_end(200);
	ok(stat(path, &st) == -1, "-t makes no file");
	metrics_close();
	ok(metrics_open("/dev/null", APP1, 0, err, sizeof(err)) == -1 &&
	    strstr(err, "/dev/null") != NULL, "-t: not a folder: %s", err);

	/* A folder that does not exist: an error for -t; a worker says so
	 * in its log and serves uncounted. */
	ok(metrics_open("/nonexistent/sigil", APP1, 0, err,
	    sizeof(err)) == -1 && strstr(err, "/nonexistent/sigil") != NULL,
	    "-t: a missing folder is an error naming it: %s", err);
	ok(metrics_open("/nonexistent/sigil", APP1, 1, err,
	    sizeof(err)) == 0, "a worker serves on without it");
	metrics_begin();
	metrics_end(200);
	metrics_close();
	ok(metrics_read("/nonexistent/sigil", &progs, &n, err,
	    sizeof(err)) == -1, "and cannot be read");

	ok(metrics_open(dir, APP1, 1, err, sizeof(err)) == 0, "opens");
	metrics_close();
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640,
	    "the file is 0640");

	/* Truncated under the worker (SIGBUS on the next write, without
	 * the guard): it lives, and counts on in a new file. */
	ok(metrics_open(dir, APP1, 1, err, sizeof(err)) == 0, "opens");
	metrics_begin();
	metrics_end(200);
	if (getenv("SIGIL_VALGRIND") != NULL)	/* see t/unit/shmfile.c */
		ok(1, "# SKIP the worker's file truncated, under valgrind");
	else {
		ok(truncate(path, 0) == 0, "the file is truncated");
		metrics_begin();
		metrics_route(0, API_V1, METHOD_GET);
		metrics_end(200);
		metrics_begin();
		metrics_route(0, API_V1, METHOD_GET);
		metrics_end(200);
		ok(metrics_read(dir, &progs, &n, err, sizeof(err)) == 0 &&
		    n == 1 && progs[0].nworkers == 1 &&
		    route(&progs[0], "v1/thing")->cls[0] == 1,
		    "the worker lives and counts the next request in a new "
		    "file");
		free(progs);
	}
	metrics_close();
	unlink(path);
	rmdir(dir);
	return done_testing();
}
