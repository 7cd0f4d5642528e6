/*
 * sigil-supervise: keeps the workers of each sigil program alive, for
 * hosts with or without systemd, and sizes each pool to its load.
 * spawn-fcgi starts workers once and never replaces one that dies; this
 * does what it does (a unix socket per FastCGI program, owned by the
 * web server's group, handed to each worker as fd 0) and then watches:
 * a worker that exits or is killed is started again, at once, or after
 * a second when it lived less than one (a program that cannot start
 * does not spin).  SIGTERM or SIGINT stops every worker (SIGTERM, then
 * SIGKILL after 5 s) and removes the sockets; SIGHUP is ignored, so a
 * supervisor started from a login shell outlives it.
 *
 *	sigil-supervise -c CONFIG -w WORKERS -s SOCKET_DIR [-b BIN_DIR]
 *	    [-G GROUP] [-m MODE] [PROGRAM ...]
 *
 * WORKERS is the one place pools are set: lines
 *
 *	<program> <count>|<min>-<max> [<host>:<port>] [idle=<seconds>]
 *	    [max_requests=<n>]
 *
 * and # comments.  A count is a static pool; <min>-<max> a pool that
 * follows the load: started with min workers, it starts another while
 * connections wait in its socket's queue and every worker is busy, up
 * to max, and stops a worker idle for idle seconds (default 10) down to
 * min.  max_requests=<n> replaces a worker once it has served about n
 * requests (a slow leak or fragmentation never grows for long).  With an
 * address the program listens on TCP there instead of a unix socket,
 * for web servers on other hosts (scaling out: see the README).
 * Programs are the FastCGI ones (status, pubkey, account, validate,
 * bind, lookup, invite) and notify, the delivery daemon (no socket, a
 * count only).  With PROGRAM arguments only those are run (a systemd
 * template unit runs one program per instance).  BIN_DIR holds
 * sigil-<program>; by default the directory of this program.
 *
 * With metrics_dir set in CONFIG the supervisor reads each pool's
 * workers from their shared counters (common/metrics.c: busy or idle,
 * for how long, requests served) and publishes the pool's figures in
 * <metrics_dir>/<program>.pool (common/pool.c) for sigil-status; a
 * range or max_requests needs it.  Every start and stop is logged with
 * its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "metrics.h"
#include "pool.h"

#define MAX_PROGRAMS	16
#define MAX_WORKERS	POOL_MAX_SLOTS	/* of one program */
#define STOP_GRACE_S	5
#define BACKLOG		1024
#define IDLE_DEFAULT_S	10
#define TICK_MS		200	/* how often pools are looked at */

static const char *const known[] = {
	"status", "pubkey", "account", "validate", "bind", "lookup", "invite",
	"notify",
};

/* Why a worker was asked to stop. */
enum stop_reason {
	STOP_NONE,
	STOP_IDLE,		/* its slot is freed */
	STOP_RECYCLE,		/* another starts in its slot */
};

struct worker {
	pid_t		 pid;		/* 0: not running */
	time_t		 started;	/* uptime(), as is restart_at */
	time_t		 restart_at;	/* 0: not waiting to start */
	enum stop_reason stop;
};

struct program {
	char		 name[64];
	int		 min, max;	/* equal: a static pool */
	int		 idle;		/* seconds */
	uint64_t	 max_requests;	/* 0: never recycled */
	int		 fd;		/* listening socket; -1 for notify */
	char		 sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char		 tcp[128];	/* "host:port" to listen on, or "" */
	struct worker	 w[MAX_WORKERS];
	struct pool_file *pf;		/* NULL: no metrics_dir */
	struct pool_figures fig;
	int		 saturated;	/* at max, all busy, a queue */
	int		 queue_unknown_said;
};

static struct program	 progs[MAX_PROGRAMS];
static size_t		 nprogs;
static const char	*config, *bindir, *metrics_dir;
static struct metrics_program *rows;	/* one pool's workers, reused */

static void
say(const char *fmt, ...)
{
	va_list	 ap;

	fputs("sigil-supervise: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Seconds on the monotonic clock, from 1: a wall clock set back or
 * forward does not delay or hasten a restart. */
static time_t
uptime(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1;
}

static int
known_program(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i], name) == 0)
			return 1;
	return 0;
}

/* Whether name was asked for (no list: every program is). */
static int
wanted(const char *name, char *const *only, int nonly)
{
	int	 i;

	if (nonly == 0)
		return 1;
	for (i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return 1;
	return 0;
}

/* A whole number from 0 to max in s.  Returns it, or -1. */
static long
number(const char *s, long max)
{
	char	*end;
	long	 n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || n > max ? -1 : n;
}

/*
 * Reads the size field "<count>" or "<min>-<max>" into p.  Returns 0, or
 * -1 when it is neither.
 */
static int
parse_size(const char *field, struct program *p)
{
	char	 buf[32], *dash;
	long	 lo, hi;

	if (strlen(field) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", field);
	if ((dash = strchr(buf, '-')) != NULL)
		*dash++ = '\0';
	lo = number(buf, MAX_WORKERS);
	hi = dash != NULL ? number(dash, MAX_WORKERS) : lo;
	if (lo < 0 || hi < 0 || hi < lo || (dash != NULL && hi == 0))
		return -1;
	p->min = (int)lo;
	p->max = (int)hi;
	return 0;
}

/*
 * Reads an option "idle=<seconds>" or "max_requests=<n>", or the address
 * "<host>:<port>", into p.  Returns 0, or -1 when it is none of them.
 */
static int
parse_option(const char *field, struct program *p)
{
	long	 n;

	if (strncmp(field, "idle=", 5) == 0) {
		if ((n = number(field + 5, 86400)) < 1)
			return -1;
		p->idle = (int)n;
	} else if (strncmp(field, "max_requests=", 13) == 0) {
		if ((n = number(field + 13, LONG_MAX)) < 1)
			return -1;
		p->max_requests = (uint64_t)n;
	} else if (strchr(field, '=') == NULL && p->tcp[0] == '\0' &&
	    strrchr(field, ':') != NULL && strlen(field) < sizeof(p->tcp))
		snprintf(p->tcp, sizeof(p->tcp), "%s", field);
	else
		return -1;
	return 0;
}

/* Reads the workers file.  Returns 0, or -1 after saying why. */
static int
read_workers(const char *path, char *const *only, int nonly)
{
	FILE		*f;
	struct program	 p;
	char		 line[512], *field[8], *save;
	long		 lineno = 0;
	int		 n, k, bad;
	size_t		 i;

	if ((f = fopen(path, "r")) == NULL) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		save = NULL;
		for (n = 0; n < 8; n++)
			if ((field[n] = strtok_r(n == 0 ? line : NULL, " \t",
			    &save)) == NULL)
				break;
		if (n == 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.fd = -1;
		p.idle = IDLE_DEFAULT_S;
		bad = n < 2 || n > 5 || strlen(field[0]) >= sizeof(p.name) ||
		    !known_program(field[0]) || parse_size(field[1], &p) == -1;
		for (k = 2; !bad && k < n; k++)
			bad = parse_option(field[k], &p) == -1;
		/* sigil-notify has no socket: a count, nothing else. */
		if (!bad && strcmp(field[0], "notify") == 0)
			bad = n > 2 || p.min != p.max;
		/* A pool watched through the workers' rows: no more
		 * workers than rows. */
		if (!bad && (p.min != p.max || p.max_requests != 0) &&
		    p.max > MAX_METRICS_WORKERS) {
			say("%s:%ld: a pool of %d-%d or with max_requests may "
			    "have at most %d workers (their rows under "
			    "metrics_dir)", path, lineno, p.min, p.max,
			    MAX_METRICS_WORKERS);
			fclose(f);
			return -1;
		}
		if (bad) {
			say("%s:%ld: want \"<program> <count>|<min>-<max> "
			    "[<host>:<port>] [idle=<seconds>] "
			    "[max_requests=<n>]\" with a sigil program and "
			    "0 to %d workers", path, lineno, MAX_WORKERS);
			fclose(f);
			return -1;
		}
		snprintf(p.name, sizeof(p.name), "%s", field[0]);
		for (i = 0; i < nprogs; i++)
			if (strcmp(progs[i].name, p.name) == 0) {
				say("%s:%ld: %s is listed twice", path, lineno,
				    p.name);
				fclose(f);
				return -1;
			}
		if (!wanted(p.name, only, nonly) || p.max == 0)
			continue;
		if (nprogs == MAX_PROGRAMS)
			break;
		progs[nprogs++] = p;
	}
	fclose(f);
	for (n = 0; n < nonly; n++) {
		for (i = 0; i < nprogs; i++)
			if (strcmp(progs[i].name, only[n]) == 0)
				break;
		if (i == nprogs) {
			say("%s is not in %s (or has 0 workers)", only[n], path);
			return -1;
		}
	}
	if (nprogs == 0) {
		say("%s: no programs to run", path);
		return -1;
	}
	return 0;
}

/*
 * Listens on TCP at p->tcp ("host:port", [v6]:port), for workers other
 * hosts' web servers reach.  Returns 0 or -1.
 */
static int
make_tcp_socket(struct program *p)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[128], *port;
	int		 one = 1, rc;

	snprintf(host, sizeof(host), "%s", p->tcp);
	port = strrchr(host, ':');
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		say("%s: %s", p->tcp, gai_strerror(rc));
		return -1;
	}
	snprintf(p->sock, sizeof(p->sock), "%s", p->tcp);
	if ((p->fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 ||
	    bind(p->fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(p->fd, BACKLOG) == -1) {
		say("%s: %s", p->tcp, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

/* Makes the listening socket of p in dir.  Returns 0 or -1. */
static int
make_socket(struct program *p, const char *dir, gid_t gid, mode_t mode)
{
	struct sockaddr_un	 sa;

	if (p->tcp[0] != '\0')
		return make_tcp_socket(p);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(p->sock, sizeof(p->sock), "%s/sigil-%s.sock",
	    dir, p->name) >= sizeof(p->sock)) {
		say("%s: the socket path is too long", dir);
		return -1;
	}
	memcpy(sa.sun_path, p->sock, sizeof(sa.sun_path));
	unlink(p->sock);
	if ((p->fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(p->sock, mode) == -1 ||
	    (gid != (gid_t)-1 && chown(p->sock, (uid_t)-1, gid) == -1) ||
	    listen(p->fd, BACKLOG) == -1) {
		say("%s: %s", p->sock, strerror(errno));
		return -1;
	}
	return 0;
}

/* Starts worker i of p.  Returns 0, or -1 when fork failed. */
static int
start_worker(struct program *p, int i, const sigset_t *orig)
{
	char	 path[PATH_MAX], argv0[80];
	pid_t	 pid;
	int	 null;
	size_t	 k;

	snprintf(path, sizeof(path), "%s/sigil-%s", bindir, p->name);
	snprintf(argv0, sizeof(argv0), "sigil-%s", p->name);
	if ((pid = fork()) == -1) {
		say("fork: %s", strerror(errno));
		p->w[i].restart_at = uptime() + 1;
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, orig, NULL);
		/* FastCGI: the listening socket is fd 0. */
		if (p->fd != -1)
			dup2(p->fd, 0);
		else if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, 0);
		for (k = 0; k < nprogs; k++)
			if (progs[k].fd > 0)
				close(progs[k].fd);
		execl(path, argv0, "-c", config, (char *)NULL);
		say("%s: %s", path, strerror(errno));
		_exit(127);
	}
	p->w[i].pid = pid;
	p->w[i].started = uptime();
	p->w[i].restart_at = 0;
	p->w[i].stop = STOP_NONE;
	return 0;
}

/*
 * Reaps every child that ended: one asked to stop for being idle frees
 * its slot, one recycled is replaced at once, any other is a restart.
 */
static void
reap(void)
{
	struct program	*p;
	struct worker	*w;
	pid_t		 pid;
	int		 status, i;
	size_t		 k;
	time_t		 now = uptime();

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (k = 0; k < nprogs; k++)
			for (p = &progs[k], i = 0; i < p->max; i++) {
				w = &p->w[i];
				if (w->pid != pid)
					continue;
				w->pid = 0;
				if (w->stop == STOP_IDLE)
					continue;
				if (w->stop == STOP_RECYCLE) {
					w->restart_at = now;
					continue;
				}
				if (WIFSIGNALED(status))
					say("sigil-%s[%d] killed by signal "
					    "%d; starting another", p->name,
					    (int)pid, WTERMSIG(status));
				else
					say("sigil-%s[%d] exited with %d; "
					    "starting another", p->name,
					    (int)pid, WEXITSTATUS(status));
				p->fig.restarts++;
				/* One that died young waits a second. */
				w->restart_at = now - w->started < 1 ?
				    now + 1 : now;
			}
}

/* Asks worker i of p to stop after its request, for reason. */
static void
ask_stop(struct program *p, int i, enum stop_reason reason)
{
	p->w[i].stop = reason;
	kill(p->w[i].pid, SIGTERM);
}

/* The row of pid in rows, or NULL. */
static const struct metrics_worker_view *
row_of(pid_t pid)
{
	size_t	 j;

	for (j = 0; j < rows->nworkers; j++)
		if (rows->workers[j].pid == pid)
			return &rows->workers[j];
	return NULL;
}

/*
 * Reads pool p's listening queue into *st (queue_known 0 when the kernel
 * does not tell, said once) and keeps its figures.
 */
static void
read_queue(struct program *p, struct pool_state *st)
{
	uint64_t	 limit = 0;

	st->queue = 0;
	st->queue_known = pool_listen_queue(p->fd, &st->queue, &limit) == 0;
	if (st->queue_known) {
		p->fig.queue = st->queue;
		p->fig.queue_limit = limit;
		if (st->queue > p->fig.queue_max)
			p->fig.queue_max = st->queue;
		return;
	}
	p->fig.queue = p->fig.queue_limit = 0;
	if (!p->queue_unknown_said && p->min != p->max)
		say("sigil-%s: the kernel does not tell its socket's "
		    "listen queue (%s); the pool grows when every worker is "
		    "busy, and keeps at least one", p->name, strerror(errno));
	p->queue_unknown_said = 1;
}

/*
 * Describes pool p's slots in slots (p->max of them), with what its
 * workers' rows say when have_rows.
 */
static void
read_slots(const struct program *p, int have_rows, struct pool_slot *slots)
{
	const struct metrics_worker_view *v;
	const struct worker *w;
	struct pool_slot *s;
	int		 i;

	for (i = 0; i < p->max; i++) {
		w = &p->w[i];
		s = &slots[i];
		memset(s, 0, sizeof(*s));
		if (w->pid > 0)
			s->state = w->stop == STOP_IDLE ?
			    POOL_SLOT_STOPPING_IDLE :
			    w->stop == STOP_RECYCLE ?
			    POOL_SLOT_STOPPING_RECYCLE : POOL_SLOT_RUNNING;
		else
			s->state = w->restart_at != 0 ?
			    POOL_SLOT_RESTARTING : POOL_SLOT_EMPTY;
		s->started = w->started;
		if (w->pid <= 0 || !have_rows || (v = row_of(w->pid)) == NULL)
			continue;
		s->has_row = 1;
		s->busy = v->busy;
		s->idle_us = v->idle_us;
		s->served = v->served;
	}
}

/*
 * Carries out plan pl for pool p, whose slots it was made from: starts,
 * stops and replaces workers, saying why, and counts it in p's figures.
 */
static void
carry_out(struct program *p, const struct pool_slot *slots,
    const struct pool_plan *pl, const sigset_t *orig)
{
	int	 i, total = pl->total;

	for (i = 0; i < p->max; i++)
		if (pl->act[i] == POOL_RECYCLE) {
			say("sigil-%s[%d]: served %llu requests "
			    "(max_requests %llu): replacing it", p->name,
			    (int)p->w[i].pid,
			    (unsigned long long)slots[i].served,
			    (unsigned long long)p->max_requests);
			p->fig.recycled++;
			ask_stop(p, i, STOP_RECYCLE);
		}
	if (pl->grow > 0)
		say("sigil-%s: %llu waiting and all %d busy: starting %d "
		    "(%d of %d-%d)", p->name, (unsigned long long)pl->queue,
		    pl->busy, pl->grow, pl->total + pl->grow, p->min, p->max);
	for (i = 0; i < p->max; i++)
		if (pl->act[i] == POOL_START) {
			if (start_worker(p, i, orig) == 0)
				p->fig.grown++;
			else	/* the next tick tries again */
				p->w[i].restart_at = 0;
		}
	if (pl->saturated && !p->saturated) {
		p->fig.max_reached++;
		say("sigil-%s: all %d workers busy, the most it may have, "
		    "and %llu waiting", p->name, p->max,
		    (unsigned long long)pl->queue);
	}
	p->saturated = pl->saturated;
	for (i = 0; i < p->max; i++)
		if (pl->act[i] == POOL_STOP_IDLE) {
			total--;
			say("sigil-%s[%d]: idle for %d s: stopping it "
			    "(%d of %d-%d)", p->name, (int)p->w[i].pid,
			    p->idle, total, p->min, p->max);
			p->fig.shrunk++;
			ask_stop(p, i, STOP_IDLE);
		}
}

/*
 * Looks at pool p once: its socket's queue, and with its workers' rows
 * which are busy, for how long the others have been idle and how much
 * each served; lets pool_plan() decide, carries it out and publishes
 * the figures.
 */
static void
regulate(struct program *p, const sigset_t *orig)
{
	static struct pool_slot slots[MAX_WORKERS];
	struct pool_settings set = { p->min, p->max, p->idle,
			    p->max_requests };
	struct pool_state st;
	struct pool_plan pl;
	int		 i, running;

	if (p->fd == -1 || metrics_dir == NULL)
		return;
	read_queue(p, &st);
	read_slots(p, metrics_read_program(metrics_dir, p->name, rows),
	    slots);
	st.slots = slots;
	st.now = uptime();
	pool_plan(&set, &st, &pl);
	carry_out(p, slots, &pl, orig);
	for (running = 0, i = 0; i < p->max; i++)
		running += p->w[i].pid > 0;
	p->fig.workers = (uint64_t)running;
	pool_file_publish(p->pf, &p->fig);
}

/* Stops every worker: SIGTERM, then SIGKILL after STOP_GRACE_S. */
static void
stop_all(void)
{
	struct timespec	 tick = { 0, 100 * 1000 * 1000 };
	struct worker	*w;
	pid_t		 pid;
	size_t		 k;
	int		 i, alive, round;

	for (k = 0; k < nprogs; k++)
		for (i = 0; i < progs[k].max; i++)
			if (progs[k].w[i].pid > 0)
				kill(progs[k].w[i].pid, SIGTERM);
	/* A worker is gone once reaped here (not by kill(pid, 0), which
	 * a process given a reaped worker's pid would answer). */
	for (round = 0; round < STOP_GRACE_S * 10; round++) {
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			for (k = 0; k < nprogs; k++)
				for (i = 0; i < progs[k].max; i++)
					if (progs[k].w[i].pid == pid)
						progs[k].w[i].pid = 0;
		alive = 0;
		for (k = 0; k < nprogs; k++)
			for (i = 0; i < progs[k].max; i++)
				alive |= progs[k].w[i].pid > 0;
		if (!alive)
			break;
		nanosleep(&tick, NULL);
	}
	for (k = 0; k < nprogs; k++)
		for (i = 0; i < progs[k].max; i++)
			if ((w = &progs[k].w[i])->pid > 0) {
				say("sigil-%s[%d] did not stop; killing it",
				    progs[k].name, (int)w->pid);
				kill(w->pid, SIGKILL);
				waitpid(w->pid, NULL, 0);
			}
	for (k = 0; k < nprogs; k++) {
		if (progs[k].fd != -1) {
			close(progs[k].fd);
			if (progs[k].tcp[0] == '\0')
				unlink(progs[k].sock);
		}
		pool_file_close(progs[k].pf);
		progs[k].pf = NULL;
	}
}

/*
 * Reads metrics_dir from the configuration, and with it opens each
 * pool's figures file.  Returns 0, or -1 after saying why (a range or
 * max_requests without metrics_dir: nothing would see the workers).
 */
static int
open_pools(void)
{
	struct cfg	 cfg;
	char		 err[512];
	size_t		 k;

	memset(&cfg, 0, sizeof(cfg));
	if (cfg_load(config, &cfg, err, sizeof(err)) == -1) {
		say("%s", err);
		cfg_free(&cfg);
		return -1;
	}
	if (cfg.metrics_dir != NULL)
		metrics_dir = strdup(cfg.metrics_dir);
	cfg_free(&cfg);
	for (k = 0; k < nprogs; k++) {
		if (metrics_dir == NULL && (progs[k].min != progs[k].max ||
		    progs[k].max_requests != 0)) {
			say("sigil-%s: a pool of %d-%d workers or "
			    "max_requests needs metrics_dir in %s, where the "
			    "workers say whether they are busy", progs[k].name,
			    progs[k].min, progs[k].max, config);
			return -1;
		}
		snprintf(progs[k].fig.program, sizeof(progs[k].fig.program),
		    "%s", progs[k].name);
		progs[k].fig.min = (uint64_t)progs[k].min;
		progs[k].fig.max = (uint64_t)progs[k].max;
		progs[k].fig.idle_timeout = (uint64_t)progs[k].idle;
		progs[k].fig.max_requests = progs[k].max_requests;
		if (metrics_dir == NULL || progs[k].fd == -1)
			continue;
		if ((progs[k].pf = pool_file_open(metrics_dir, progs[k].name,
		    err, sizeof(err))) == NULL) {
			say("%s", err);
			return -1;
		}
	}
	if (metrics_dir != NULL && (rows = calloc(1, sizeof(*rows))) == NULL) {
		say("out of memory");
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sigil-supervise -c CONFIG -w WORKERS -s "
	    "SOCKET_DIR [-b BIN_DIR]\n\t[-G GROUP] [-m MODE] [PROGRAM ...]\n");
	exit(2);
}

/* What the command line asks for. */
struct options {
	const char	*workers, *sockdir;
	gid_t		 gid;		/* of the sockets; -1: unchanged */
	mode_t		 mode;		/* of the sockets */
	char *const	*only;		/* the programs to run, or all */
	int		 nonly;
};

/*
 * Reads the command line into *o, config and bindir (self holds the
 * latter when found from argv[0]).  Returns 0, or -1 after saying why;
 * exits with usage() on a malformed one.
 */
static int
parse_args(int argc, char **argv, char *self, struct options *o)
{
	const char	*group = NULL;
	struct group	*gr;
	char		*end;
	int		 ch;

	o->workers = o->sockdir = NULL;
	o->gid = (gid_t)-1;
	o->mode = 0660;
	while ((ch = getopt(argc, argv, "b:c:G:m:s:w:")) != -1)
		switch (ch) {
		case 'b':
			bindir = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'G':
			group = optarg;
			break;
		case 'm':
			o->mode = (mode_t)strtoul(optarg, &end, 8);
			if (*end != '\0' || o->mode > 0777)
				usage();
			break;
		case 's':
			o->sockdir = optarg;
			break;
		case 'w':
			o->workers = optarg;
			break;
		default:
			usage();
		}
	if (config == NULL || o->workers == NULL || o->sockdir == NULL)
		usage();
	o->only = argv + optind;
	o->nonly = argc - optind;
	if (bindir == NULL) {
		if (realpath(argv[0], self) == NULL) {
			say("cannot find my own directory; pass -b");
			return -1;
		}
		bindir = dirname(self);
	}
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			say("no group %s", group);
			return -1;
		}
		o->gid = gr->gr_gid;
	}
	return 0;
}

/*
 * Starts each pool's min workers (orig: the signal mask they get) and
 * says what runs where.
 */
static void
start_pools(const sigset_t *orig)
{
	struct program	*p;
	size_t		 k;
	int		 i;

	for (k = 0; k < nprogs; k++) {
		p = &progs[k];
		for (i = 0; i < p->min; i++)
			start_worker(p, i, orig);
		if (p->min == p->max)
			say("sigil-%s: %d worker(s)%s%s", p->name, p->max,
			    p->fd != -1 ? " on " : "",
			    p->fd != -1 ? p->sock : "");
		else
			say("sigil-%s: %d-%d workers, idle %d s, on %s",
			    p->name, p->min, p->max, p->idle, p->sock);
	}
}

/*
 * Watches the pools until SIGTERM or SIGINT (in set, blocked): reaps,
 * starts again the workers due, and regulates each pool every tick.
 */
static void
watch(const sigset_t *set, const sigset_t *orig)
{
	struct timespec	 tick = { 0, TICK_MS * 1000 * 1000 };
	struct program	*p;
	siginfo_t	 info;
	time_t		 now;
	size_t		 k;
	int		 i, sig;

	for (;;) {
		sig = sigtimedwait(set, &info, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;		/* SIGHUP: nothing to reload */
		if (sig == SIGCHLD)
			reap();
		now = uptime();
		for (k = 0; k < nprogs; k++) {
			p = &progs[k];
			for (i = 0; i < p->max; i++)
				if (p->w[i].pid == 0 &&
				    p->w[i].restart_at != 0 &&
				    p->w[i].restart_at <= now)
					start_worker(p, i, orig);
			regulate(p, orig);
		}
	}
}

int
main(int argc, char **argv)
{
	struct options	 o;
	char		 self[PATH_MAX];
	sigset_t	 set, orig;
	size_t		 k;

	if (parse_args(argc, argv, self, &o) == -1 ||
	    read_workers(o.workers, o.only, o.nonly) == -1)
		return 1;
	for (k = 0; k < nprogs; k++)
		if (strcmp(progs[k].name, "notify") != 0 &&
		    make_socket(&progs[k], o.sockdir, o.gid, o.mode) == -1)
			return 1;
	if (open_pools() == -1) {
		stop_all();
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &orig);
	start_pools(&orig);
	watch(&set, &orig);
	say("stopping");
	stop_all();
	free(rows);
	free((char *)metrics_dir);
	return 0;
}
