/*
 * Shared request counters.  Each program keeps one file,
 * <metrics_dir>/<program>.metrics, of a fixed layout: a header naming the
 * program and its counted routes, then one row per worker.  Every worker
 * maps the file MAP_SHARED and claims a row (an atomic compare-and-swap
 * of the row's pid, from 0 or a process that no longer exists); it alone
 * writes that row, with C11 atomics, so no lock is taken per request and
 * a reader sees whole numbers.  Counters in a row are never reset: a
 * worker that takes over a dead one's row adds to its counts, so the sums
 * only grow.  The reader (sigil-status) maps each file read-only and sums
 * the rows.  A program whose route table changed (an upgrade) starts a
 * new file, renamed over the old one: the workers still running keep
 * writing into the old one, which nobody reads any more.
 *
 * With metrics_dir unset nothing here is opened and the writer's calls
 * return at once.
 *
 * The folder and its files are trusted only as shmfile.c says (this
 * user's, writable by nobody else).  A writer (a worker, sigil-notify)
 * that cannot use them says why once and runs uncounted rather than
 * stopping: the counters are the operator's aid, not the service, and a
 * worker that would not start for them hands the whole service to
 * whoever can make the folder unsafe (another local user, where it sits
 * in a world-writable place).  `-t` fails, so the operator hears of it.
 * A file truncated under a worker costs that worker's counts, not its
 * life: it maps the file anew after the request.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "req.h"
#include "shmfile.h"
#include "util.h"

_Static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
    "shared counters need lock-free atomics");

#define METRICS_MAGIC	UINT64_C(0x3152544d4c474953)	/* "SIGLMTR1" */
#define METRICS_VERSION	4

const double	 metrics_bucket_le[METRICS_BUCKETS - 1] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
static const uint64_t bucket_us[METRICS_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
const char *const metrics_class_name[METRICS_CLASSES] = {
	"2xx", "3xx", "4xx", "5xx",
};

/*
 * The label refusals by limit are counted under: the limit's name, or
 * "other" for a limit that is none of the configuration's.
 */
const char *
metrics_limit_name(size_t limit)
{
	return limit < RATELIMIT__MAX ? ratelimit_name[limit] : "other";
}

const struct metrics_front_kind metrics_front_refusal[METRICS_FRONT__MAX] = {
	[METRICS_FRONT_RATE] =		{ 429, "rate" },
	[METRICS_FRONT_CONNECTIONS] =	{ 429, "connections" },
	[METRICS_FRONT_OTHER_429] =	{ 429, "other" },
	[METRICS_FRONT_BODY] =		{ 413, "body" },
};

/* The events of one process (a worker's row, sigil-notify's file). */
struct shm_events {
	_Atomic uint64_t	 n[METRICS_EVENTS];
	_Atomic uint64_t	 refused[METRICS_LIMITS];
};

/* One route's counts in one worker's row. */
struct shm_route {
	_Atomic uint64_t	 cls[METRICS_CLASSES];
	_Atomic uint64_t	 bucket[METRICS_BUCKETS];
	_Atomic uint64_t	 sum_us;
};

struct shm_worker {
	_Atomic int32_t		 pid;		/* 0: free */
	_Atomic uint32_t	 busy;
	_Atomic uint32_t	 route;		/* current, else last */
	uint32_t		 pad;
	_Atomic uint64_t	 served;
	_Atomic uint64_t	 start_us;	/* CLOCK_MONOTONIC */
	_Atomic uint64_t	 last_us;	/* the last one's duration */
	struct shm_route	 r[MAX_METRICS_ROUTES];
	struct shm_events	 ev;
	_Atomic uint64_t	 front[METRICS_FRONT__MAX]; /* sigil-status's */
};

struct shm {
	uint64_t		 magic;
	uint32_t		 version;
	uint32_t		 nroutes;
	uint64_t		 size;
	char			 program[METRICS_NAME];
	char			 route[MAX_METRICS_ROUTES][METRICS_NAME];
	char			 method[MAX_METRICS_ROUTES][METRICS_METHOD];
	struct shm_worker	 w[MAX_METRICS_WORKERS];
};

/* The writer: this process's file, row, and route slots. */
static struct shm		*shm;
static struct shm_worker	*me;
static unsigned char		*slot_of;	/* [(route * 4 + api index) *
					   REQ_METHODS + method index] */
static size_t			 nslot_of;
static uint64_t			 t0;
static struct shm_events	*ev;		/* this process's events */
static struct shm		*hdr;		/* the header, for reopening */
static char			*hdr_dir;	/* metrics_dir, for reopening */
static unsigned			 losses_seen;	/* shmfile_losses() */

/* The API bits a route can carry, in slot order, and their names' prefix. */
static const struct {
	unsigned	 api;
	const char	*prefix;
} apis[4] = {
	{ API_V1, "v1" }, { API_V2, "v2" }, { API_ROOT, "" },
	{ API_OPS, "_sigil" },
};

static uint64_t
mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The program's name without "sigil-": "lookup". */
static const char *
short_name(const char *name)
{
	return strncmp(name, "sigil-", 6) == 0 ? name + 6 : name;
}

/*
 * Fills h (zeroed) with the header for the program name, whose route
 * table is the n routes of rt, and slot_of with its route slots: slot 0 is "other" of method "any" (no route: 404, 405, OPTIONS,
 * a refused request), then one per route, API and method, e.g.
 * "v2/lookup" "POST": a path served for two methods (v2/terms GET and
 * POST) has a slot for each.  Routes past MAX_METRICS_ROUTES count as
 * "other".
 */
static void
header_of(const char *name, const struct metrics_path *rt, size_t n_rt,
    struct shm *h)
{
	size_t		 i, k, m, n = 1;
	const char	*p;

	h->magic = METRICS_MAGIC;
	h->version = METRICS_VERSION;
	h->size = sizeof(struct shm);
	snprintf(h->program, METRICS_NAME, "%s", short_name(name));
	snprintf(h->route[0], METRICS_NAME, "other");
	snprintf(h->method[0], METRICS_METHOD, "any");
	free(slot_of);
	nslot_of = n_rt * 4 * REQ_METHODS;
	slot_of = xcalloc(nslot_of + 1, 1);
	for (i = 0; i < n_rt; i++)
		for (k = 0; k < 4; k++)
			for (m = 0; m < REQ_METHODS; m++) {
				if (!(rt[i].apis & apis[k].api) ||
				    !(rt[i].methods & (1U << m)) ||
				    n >= MAX_METRICS_ROUTES)
					continue;
				p = rt[i].path;
				snprintf(h->route[n], METRICS_NAME, "%s%s%s",
				    apis[k].prefix, *apis[k].prefix != '\0' &&
				    *p != '\0' ? "/" : "", p);
				snprintf(h->method[n], METRICS_METHOD, "%s",
				    req_method_name(m));
				slot_of[(i * 4 + k) * REQ_METHODS + m] =
				    (unsigned char)n++;
			}
	h->nroutes = (uint32_t)n;
}

/* Claims a free row, or a dead process's; NULL when all are taken. */
static struct shm_worker *
claim_row(struct shm *m)
{
	int32_t		 self = (int32_t)getpid(), p;
	size_t		 i;

	for (i = 0; i < MAX_METRICS_WORKERS; i++) {
		p = atomic_load(&m->w[i].pid);
		if (p == self)
			return &m->w[i];
		if (p != 0 && !(kill(p, 0) == -1 && errno == ESRCH))
			continue;
		if (atomic_compare_exchange_strong(&m->w[i].pid, &p, self))
			return &m->w[i];
	}
	return NULL;
}

/*
 * Maps the counters file named by hdr under hdr_dir and claims a row.
 * Returns 0, or -1 with why in err (nothing mapped).
 */
static int
attach(char *err, size_t errlen)
{
	char	 name[METRICS_NAME + 16], why[384];
	int	 dfd;

	snprintf(name, sizeof(name), "%s.metrics", hdr->program);
	if ((dfd = shmfile_dir_open(hdr_dir, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "metrics_dir: %s", why);
		return -1;
	}
	shm = shmfile_map(dfd, name, sizeof(struct shm), hdr,
	    offsetof(struct shm, w), 0640, why, sizeof(why));
	close(dfd);
	if (shm == NULL) {
		snprintf(err, errlen, "metrics_dir: %s/%s", hdr_dir, why);
		return -1;
	}
	losses_seen = shmfile_losses();
	if ((me = claim_row(shm)) == NULL) {
		log_warn("metrics: all %d worker rows of %s/%s are taken; "
		    "this worker is not counted", MAX_METRICS_WORKERS,
		    hdr_dir, name);
		return 0;
	}
	/* The row's per-process figures start again; its counts go on. */
	atomic_store(&me->busy, 0);
	atomic_store(&me->route, 0);
	atomic_store(&me->served, 0);
	atomic_store(&me->last_us, 0);
	atomic_store(&me->start_us, mono_us());
	ev = &me->ev;
	return 0;
}

/* Unmaps this worker's file, its row left as it is. */
static void
detach(void)
{
	if (me != NULL && ev == &me->ev)
		ev = NULL;
	me = NULL;
	shmfile_unmap(shm, sizeof(struct shm));
	shm = NULL;
}

/*
 * Opens the counters of the program name, whose route table is the n
 * routes of rt (copied), under dir, and with claim takes a worker row;
 * without (-t, perhaps run by another user than the workers) only checks
 * that dir is a folder to trust (shmfile_dir_check()) that it may write,
 * and makes no file.  dir NULL: metrics off, returns 0.  Returns 0, or
 * -1 with why in err: only without claim, since a worker that cannot
 * use dir says why here and serves uncounted (see the top).  A program
 * with more workers than rows serves uncounted too.
 */
int
metrics_open(const char *dir, const char *name, const struct metrics_path *rt,
    size_t n, int claim, char *err, size_t errlen)
{
	char	 why[512];

	if (dir == NULL)
		return 0;
	if (!claim) {
		if (shmfile_dir_check(dir, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "metrics_dir: %s", why);
			return -1;
		}
		if (access(dir, W_OK | X_OK) == -1) {
			snprintf(err, errlen, "metrics_dir: %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	/* Not metrics_close(): a child forked from a worker has its
	 * parent's row, which is not the child's to give back. */
	free(hdr);
	free(hdr_dir);
	hdr = xcalloc(1, sizeof(*hdr));
	header_of(name, rt, n, hdr);
	hdr_dir = xstrdup(dir);
	if (attach(why, sizeof(why)) == -1)
		log_err("%s; serving without shared metrics", why);
	return 0;
}

/*
 * After a request: when this worker's file was truncated under it (its
 * mapping lost, see shmfile.c), says so and maps the file anew, which
 * makes a new one.
 */
static void
reattach_if_lost(void)
{
	char	 why[512];

	if (shmfile_losses() == losses_seen)
		return;
	losses_seen = shmfile_losses();
	if (!shmfile_lost(shm))
		return;
	log_warn("metrics: %s/%s.metrics was truncated under this worker; "
	    "its counts so far are lost, counting again in a new file",
	    hdr_dir, hdr->program);
	detach();
	if (attach(why, sizeof(why)) == -1)
		log_err("%s; serving without shared metrics", why);
}

/* Counts one event e of this process; nothing while metrics are off. */
void
metrics_count(enum metrics_event e)
{
	if (ev == NULL || (unsigned)e >= METRICS_EVENTS)
		return;
	atomic_fetch_add_explicit(&ev->n[e], 1, memory_order_relaxed);
}

/*
 * Counts a request refused by the configuration's limit number limit,
 * or by another one (RATELIMIT__MAX or over, counted as "other").
 */
void
metrics_refused(enum ratelimit_id limit)
{
	size_t	 i = (size_t)limit < RATELIMIT__MAX ? (size_t)limit :
		    RATELIMIT__MAX;

	if (ev == NULL)
		return;
	atomic_fetch_add_explicit(&ev->refused[i], 1, memory_order_relaxed);
}

/* Counts a refusal by the web front's own limits (sigil-status). */
void
metrics_front_refused(enum metrics_front kind)
{
	if (me == NULL || (size_t)kind >= METRICS_FRONT__MAX)
		return;
	atomic_fetch_add_explicit(&me->front[kind], 1, memory_order_relaxed);
}

/* A request has been accepted: this worker is busy, route unknown yet. */
void
metrics_begin(void)
{
	if (me == NULL)
		return;
	t0 = mono_us();
	atomic_store_explicit(&me->route, 0, memory_order_relaxed);
	atomic_store_explicit(&me->start_us, t0, memory_order_relaxed);
	atomic_store_explicit(&me->busy, 1, memory_order_release);
}

/*
 * The dispatcher found route number idx of the program's table, on api,
 * for a request of method (one enum http_method bit).
 */
void
metrics_route(size_t idx, unsigned api, unsigned method)
{
	size_t	 k, m, slot;

	if (me == NULL)
		return;
	for (k = 0; k < 4 && apis[k].api != api; k++)
		;
	m = req_method_index(method);
	slot = (idx * 4 + k) * REQ_METHODS + m;
	if (k == 4 || m == REQ_METHODS || slot >= nslot_of)
		return;
	atomic_store_explicit(&me->route, slot_of[slot], memory_order_relaxed);
}

/* The response (HTTP status) has been written: count the request. */
void
metrics_end(int status)
{
	struct shm_route	*r;
	uint64_t		 d;
	size_t			 b, c;
	uint32_t		 slot;

	if (me == NULL)
		return;
	d = mono_us() - t0;
	slot = atomic_load_explicit(&me->route, memory_order_relaxed);
	r = &me->r[slot < MAX_METRICS_ROUTES ? slot : 0];
	for (b = 0; b < METRICS_BUCKETS - 1 && d > bucket_us[b]; b++)
		;
	c = status < 300 ? 0 : status < 400 ? 1 : status < 500 ? 2 : 3;
	atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sum_us, d, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->cls[c], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&me->served, 1, memory_order_relaxed);
	atomic_store_explicit(&me->last_us, d, memory_order_relaxed);
	atomic_store_explicit(&me->busy, 0, memory_order_release);
	reattach_if_lost();
}

/* Gives the row back (its counts stay) and unmaps the file. */
void
metrics_close(void)
{
	if (me != NULL) {
		if (ev == &me->ev)
			ev = NULL;
		atomic_store(&me->busy, 0);
		atomic_store(&me->pid, 0);
		me = NULL;
	}
	shmfile_unmap(shm, sizeof(struct shm));
	shm = NULL;
	free(hdr);
	hdr = NULL;
	free(hdr_dir);
	hdr_dir = NULL;
	free(slot_of);
	slot_of = NULL;
	nslot_of = 0;
}

/*
 * Sums the mapped file m into p, without the routes' counts unless
 * routes.  Returns 0, or -1 for a foreign file.
 */
/* Adds the events e to n and refused (each may be NULL). */
static void
events_add(struct shm_events *e, uint64_t *n, uint64_t *refused)
{
	size_t	 k;

	for (k = 0; n != NULL && k < METRICS_EVENTS; k++)
		n[k] += atomic_load_explicit(&e->n[k], memory_order_relaxed);
	for (k = 0; refused != NULL && k < METRICS_LIMITS; k++)
		refused[k] += atomic_load_explicit(&e->refused[k],
		    memory_order_relaxed);
}

static int
sum_file(struct shm *m, struct metrics_program *p, uint64_t now, int routes)
{
	struct shm_worker		*w;
	struct metrics_worker_view	*v;
	size_t				 i, j, k;
	uint64_t			 start;
	uint32_t			 slot;
	int32_t				 pid;

	if (m->magic != METRICS_MAGIC || m->version != METRICS_VERSION ||
	    m->size != sizeof(struct shm) || m->nroutes == 0 ||
	    m->nroutes > MAX_METRICS_ROUTES)
		return -1;
	memcpy(p->name, m->program, METRICS_NAME);
	p->name[METRICS_NAME - 1] = '\0';
	p->nroutes = m->nroutes;
	for (j = 0; j < p->nroutes; j++) {
		memcpy(p->routes[j].name, m->route[j], METRICS_NAME);
		p->routes[j].name[METRICS_NAME - 1] = '\0';
		memcpy(p->routes[j].method, m->method[j], METRICS_METHOD);
		p->routes[j].method[METRICS_METHOD - 1] = '\0';
	}
	for (i = 0; i < MAX_METRICS_WORKERS; i++) {
		w = &m->w[i];
		for (j = 0; routes && j < p->nroutes; j++) {
			for (k = 0; k < METRICS_CLASSES; k++)
				p->routes[j].cls[k] += atomic_load_explicit(
				    &w->r[j].cls[k], memory_order_relaxed);
			for (k = 0; k < METRICS_BUCKETS; k++)
				p->routes[j].bucket[k] += atomic_load_explicit(
				    &w->r[j].bucket[k], memory_order_relaxed);
			p->routes[j].sum_us += atomic_load_explicit(
			    &w->r[j].sum_us, memory_order_relaxed);
		}
		events_add(&w->ev, p->events, p->refused);
		for (k = 0; k < METRICS_FRONT__MAX; k++)
			p->front[k] += atomic_load_explicit(&w->front[k],
			    memory_order_relaxed);
		pid = atomic_load(&w->pid);
		if (pid <= 0 || (kill(pid, 0) == -1 && errno == ESRCH))
			continue;
		v = &p->workers[p->nworkers++];
		v->pid = pid;
		v->busy = atomic_load_explicit(&w->busy,
		    memory_order_acquire) != 0;
		v->served = atomic_load(&w->served);
		slot = atomic_load(&w->route);
		if (slot >= p->nroutes)
			slot = 0;
		memcpy(v->route, p->routes[slot].name, METRICS_NAME);
		memcpy(v->method, p->routes[slot].method, METRICS_METHOD);
		start = atomic_load(&w->start_us);
		if (v->busy) {
			v->duration_us = now > start ? now - start : 0;
			p->routes[slot].in_flight++;
		} else {
			v->duration_us = atomic_load(&w->last_us);
			/* Idle since its last request ended, or since it
			 * took the row. */
			v->idle_us = now > start + v->duration_us ?
			    now - start - v->duration_us : 0;
		}
	}
	return 0;
}

/*
 * Reads the file name under the folder dfd (checked) into p (zeroed
 * first), the routes' counts only with routes.  Returns 0, or -1 (p
 * zeroed) when it is not a file of ours (shmfile_open_ro()), or it was
 * truncated while being read.
 */
static int
read_file(int dfd, const char *name, struct metrics_program *p, uint64_t now,
    int routes)
{
	struct shm	*m;
	int		 fd, rc;

	memset(p, 0, sizeof(*p));
	if ((fd = shmfile_open_ro(dfd, name, sizeof(struct shm))) == -1)
		return -1;
	m = shmfile_map_ro(fd, sizeof(struct shm));
	close(fd);
	if (m == NULL)
		return -1;
	if ((rc = sum_file(m, p, now, routes)) == -1 || shmfile_lost(m)) {
		rc = -1;
		memset(p, 0, sizeof(*p));
	}
	shmfile_unmap(m, sizeof(struct shm));
	return rc;
}

/*
 * Reads one program's workers from <dir>/<program>.metrics into *p (the
 * caller's), not its routes' counts: what sigil-supervise watches a few
 * times a second.  Returns 1, or 0 when there is no file of ours.
 */
int
metrics_read_program(const char *dir, const char *program,
    struct metrics_program *p)
{
	char	 name[METRICS_NAME + 16], why[512];
	int	 dfd, rc;

	if ((size_t)snprintf(name, sizeof(name), "%s.metrics", program) >=
	    sizeof(name) || strchr(program, '/') != NULL)
		return 0;
	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1)
		return 0;
	rc = read_file(dfd, name, p, mono_us(), 0);
	close(dfd);
	return rc == 0;
}

static int
program_cmp(const void *a, const void *b)
{
	return strcmp(((const struct metrics_program *)a)->name,
	    ((const struct metrics_program *)b)->name);
}

/*
 * Reads every program's file under dir into *out, sorted by name, and
 * their number into *n; files of another layout, or not to be trusted,
 * are skipped.  Returns 0 (*out owned by the caller, free()), or -1 with
 * why in err (dir cannot be read, or is not to be trusted).
 */
int
metrics_read(const char *dir, struct metrics_program **out, size_t *n,
    char *err, size_t errlen)
{
	DIR			*d;
	struct dirent		*de;
	struct metrics_program	*progs;
	size_t			 len, count = 0;
	uint64_t		 now = mono_us();
	char			 why[512];
	int			 dfd;

	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "metrics_dir: %s", why);
		return -1;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		snprintf(err, errlen, "metrics_dir: %s: %s", dir,
		    strerror(errno));
		close(dfd);
		return -1;
	}
	progs = xcalloc(MAX_METRICS_PROGRAMS, sizeof(*progs));
	while ((de = readdir(d)) != NULL && count < MAX_METRICS_PROGRAMS) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 9 ||
		    strcmp(de->d_name + len - 8, ".metrics") != 0)
			continue;
		if (read_file(dfd, de->d_name, &progs[count], now, 1) == 0)
			count++;
	}
	closedir(d);
	qsort(progs, count, sizeof(*progs), program_cmp);
	*out = progs;
	*n = count;
	return 0;
}

/*
 * sigil-notify's figures, in <metrics_dir>/notify.onbind: the outbox as
 * the last look at it found it, when that was and by which process, and
 * the deliveries and events counted since the file was made.  Every
 * sigil-notify of the host (the daemon, each --once run from cron) maps
 * it and writes it with atomics; the counters add up over their lives.
 * A file of another layout is made anew, under an flock.
 */
#define NOTIFY_MAGIC	UINT64_C(0x3146544e4c474953)	/* "SIGLNTF1" */
#define NOTIFY_VERSION	1
#define NOTIFY_FILE	"notify.onbind"

struct shm_notify {
	uint64_t		 magic;
	uint32_t		 version;
	uint32_t		 pad;
	uint64_t		 size;
	_Atomic int32_t		 pid;		/* the last writer */
	uint32_t		 pad2;
	_Atomic int64_t		 refreshed;	/* Unix time, s */
	_Atomic int64_t		 rows;
	_Atomic int64_t		 oldest_due_ms;
	_Atomic uint64_t	 done;
	_Atomic uint64_t	 failed;
	struct shm_events	 ev;
};

static struct shm_notify	*nf;
static char			*nf_dir;	/* metrics_dir, for reopening */

/* The header of a notify file of this build's layout, in *h. */
static void
notify_header(struct shm_notify *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = NOTIFY_MAGIC;
	h->version = NOTIFY_VERSION;
	h->size = sizeof(*h);
}

/*
 * Opens sigil-notify's file under dir (NULL: metrics off) and counts
 * this process's events there.  Checked and made under an flock, and
 * opened again when another process replaced it meanwhile
 * (shmfile_map()).  Returns 0: a folder or file that cannot be used is
 * said in the log, and the process runs uncounted, as a worker does (see
 * the top); err is kept for the callers' sake.
 */
int
metrics_notify_open(const char *dir, char *err, size_t errlen)
{
	struct shm_notify	*m, *h;
	char			 why[512];
	int			 dfd;

	(void)err;
	(void)errlen;
	if (dir == NULL)
		return 0;
	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1) {
		log_err("metrics_dir: %s; running without shared metrics",
		    why);
		return 0;
	}
	h = xcalloc(1, sizeof(*h));
	notify_header(h);
	m = shmfile_map(dfd, NOTIFY_FILE, sizeof(*m), h,
	    offsetof(struct shm_notify, pid), 0640, why, sizeof(why));
	close(dfd);
	free(h);
	if (m == NULL) {
		log_err("metrics_dir: %s/%s; running without shared metrics",
		    dir, why);
		return 0;
	}
	atomic_store(&m->pid, (int32_t)getpid());
	nf = m;
	ev = &m->ev;
	free(nf_dir);
	nf_dir = xstrdup(dir);
	losses_seen = shmfile_losses();
	return 0;
}

/*
 * The outbox as just read: rows in it, and ms since its oldest due row
 * fell due (0: none due).  Stamps the file with now and this process.
 */
void
metrics_notify_outbox(int64_t rows, int64_t oldest_due_ms)
{
	char	*dir;

	if (nf == NULL)
		return;
	/* Truncated under this process: said, and mapped anew (which
	 * makes a new file), as a worker does. */
	if (shmfile_losses() != losses_seen && shmfile_lost(nf)) {
		log_warn("metrics: %s/" NOTIFY_FILE " was truncated under "
		    "this process; counting again in a new file", nf_dir);
		dir = nf_dir;
		nf_dir = NULL;
		metrics_notify_close();
		metrics_notify_open(dir, NULL, 0);
		free(dir);
		if (nf == NULL)
			return;
	}
	atomic_store_explicit(&nf->rows, rows, memory_order_relaxed);
	atomic_store_explicit(&nf->oldest_due_ms, oldest_due_ms,
	    memory_order_relaxed);
	atomic_store_explicit(&nf->pid, (int32_t)getpid(),
	    memory_order_relaxed);
	atomic_store_explicit(&nf->refreshed, (int64_t)time(NULL),
	    memory_order_release);
}

/* A delivery ended: done (the homeserver took it), else failed. */
void
metrics_notify_delivery(int done)
{
	if (nf == NULL)
		return;
	atomic_fetch_add_explicit(done ? &nf->done : &nf->failed, 1,
	    memory_order_relaxed);
}

/* Unmaps sigil-notify's file. */
void
metrics_notify_close(void)
{
	if (nf == NULL)
		return;
	if (ev == &nf->ev)
		ev = NULL;
	shmfile_unmap(nf, sizeof(*nf));
	free(nf_dir);
	nf_dir = NULL;
	nf = NULL;
}

/*
 * Reads sigil-notify's figures under dir into out.  Returns 1, or 0 when
 * there is no such file of this layout (no sigil-notify ran here).
 */
int
metrics_notify_read(const char *dir, struct metrics_notify *out)
{
	struct shm_notify	*m;
	char			 why[512];
	int			 dfd, fd, rc = 0;

	memset(out, 0, sizeof(*out));
	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1)
		return 0;
	fd = shmfile_open_ro(dfd, NOTIFY_FILE, sizeof(*m));
	close(dfd);
	if (fd == -1)
		return 0;
	m = shmfile_map_ro(fd, sizeof(*m));
	close(fd);
	if (m == NULL)
		return 0;
	if (m->magic == NOTIFY_MAGIC && m->version == NOTIFY_VERSION &&
	    m->size == sizeof(*m)) {
		out->refreshed = atomic_load_explicit(&m->refreshed,
		    memory_order_acquire);
		out->pid = atomic_load(&m->pid);
		out->alive = out->pid > 0 && !(kill(out->pid, 0) == -1 &&
		    errno == ESRCH);
		out->rows = atomic_load(&m->rows);
		out->oldest_due_ms = atomic_load(&m->oldest_due_ms);
		out->done = atomic_load(&m->done);
		out->failed = atomic_load(&m->failed);
		events_add(&m->ev, out->events, NULL);
		rc = !shmfile_lost(m);	/* else truncated while read */
	}
	shmfile_unmap(m, sizeof(*m));
	if (!rc)
		memset(out, 0, sizeof(*out));
	return rc;
}
