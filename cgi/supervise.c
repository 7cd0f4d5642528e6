/*
 * sigil-supervise: keeps N workers of each sigil program alive, for
 * hosts with or without systemd.  spawn-fcgi starts workers once and
 * never replaces one that dies; this does what it does (a unix socket
 * per FastCGI program, owned by the web server's group, handed to each
 * worker as fd 0) and then watches: a worker that exits or is killed is
 * started again, at once, or after a second when it lived less than one
 * (a program that cannot start does not spin).  SIGTERM or SIGINT stops
 * every worker (SIGTERM, then SIGKILL after 5 s) and removes the sockets;
 * SIGHUP is ignored, so a supervisor started from a login shell outlives
 * it.
 *
 *	sigil-supervise -c CONFIG -w WORKERS -s SOCKET_DIR [-b BIN_DIR]
 *	    [-G GROUP] [-m MODE] [PROGRAM ...]
 *
 * WORKERS is the one place worker counts are set: lines "<program>
 * <count> [<host>:<port>]", # comments; with an address the program
 * listens on TCP there instead of a unix socket, for web servers on other
 * hosts (scaling out: see the README).  Programs are the FastCGI ones
 * (status, pubkey, account, validate, bind, lookup, invite) and notify,
 * the delivery daemon (no socket).  With PROGRAM arguments only those
 * are run (a systemd template unit runs one program per instance).
 * BIN_DIR holds sigil-<program>; by default the directory of this
 * program.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROGRAMS	16
#define MAX_WORKERS	256	/* of one program */
#define STOP_GRACE_S	5
#define BACKLOG		1024

static const char *const known[] = {
	"status", "pubkey", "account", "validate", "bind", "lookup", "invite",
	"notify",
};

struct program {
	char	 name[64];
	int	 count;
	int	 fd;			/* listening socket; -1 for notify */
	char	 sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char	 tcp[128];		/* "host:port" to listen on, or "" */
	pid_t	 pid[MAX_WORKERS];	/* 0: not running */
	time_t	 started[MAX_WORKERS];
	time_t	 restart_at[MAX_WORKERS];	/* 0: not waiting */
};

static struct program	 progs[MAX_PROGRAMS];
static size_t		 nprogs;
static const char	*config, *bindir;

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

/* Reads the workers file.  Returns 0, or -1 after saying why. */
static int
read_workers(const char *path, char *const *only, int nonly)
{
	FILE	*f;
	char	 line[256], name[64], where[128], *field[4], *save, *end;
	long	 lineno = 0, count;
	int	 n;
	size_t	 i;

	if ((f = fopen(path, "r")) == NULL) {
		say("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		save = NULL;
		for (n = 0; n < 4; n++)
			if ((field[n] = strtok_r(n == 0 ? line : NULL, " \t",
			    &save)) == NULL)
				break;
		if (n == 0)
			continue;
		count = n >= 2 ? strtol(field[1], &end, 10) : -1;
		if (n < 2 || n > 3 || *end != '\0' || count < 0 ||
		    count > MAX_WORKERS || strlen(field[0]) >= sizeof(name) ||
		    !known_program(field[0]) || (n == 3 &&
		    (strcmp(field[0], "notify") == 0 ||
		    strlen(field[2]) >= sizeof(where) ||
		    strrchr(field[2], ':') == NULL))) {
			say("%s:%ld: want \"<program> <count> [<host>:<port>]\" "
			    "with a sigil program and 0 to %d", path, lineno,
			    MAX_WORKERS);
			fclose(f);
			return -1;
		}
		snprintf(name, sizeof(name), "%s", field[0]);
		snprintf(where, sizeof(where), "%s", n == 3 ? field[2] : "");
		for (i = 0; i < nprogs; i++)
			if (strcmp(progs[i].name, name) == 0) {
				say("%s:%ld: %s is listed twice", path, lineno,
				    name);
				fclose(f);
				return -1;
			}
		if (!wanted(name, only, nonly) || count == 0)
			continue;
		snprintf(progs[nprogs].name, sizeof(progs[nprogs].name), "%s",
		    name);
		progs[nprogs].count = (int)count;
		progs[nprogs].fd = -1;
		snprintf(progs[nprogs].tcp, sizeof(progs[nprogs].tcp), "%s",
		    where);
		nprogs++;
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
		p->restart_at[i] = time(NULL) + 1;
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
	p->pid[i] = pid;
	p->started[i] = time(NULL);
	p->restart_at[i] = 0;
	return 0;
}

/* Reaps every child that ended and schedules its replacement. */
static void
reap(void)
{
	pid_t	 pid;
	int	 status, i;
	size_t	 k;
	time_t	 now = time(NULL);

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (k = 0; k < nprogs; k++)
			for (i = 0; i < progs[k].count; i++) {
				if (progs[k].pid[i] != pid)
					continue;
				if (WIFSIGNALED(status))
					say("sigil-%s[%d] killed by signal "
					    "%d; starting another",
					    progs[k].name, (int)pid,
					    WTERMSIG(status));
				else
					say("sigil-%s[%d] exited with %d; "
					    "starting another", progs[k].name,
					    (int)pid, WEXITSTATUS(status));
				progs[k].pid[i] = 0;
				/* One that died young waits a second. */
				progs[k].restart_at[i] =
				    now - progs[k].started[i] < 1 ? now + 1 :
				    now;
			}
}

/* Stops every worker: SIGTERM, then SIGKILL after STOP_GRACE_S. */
static void
stop_all(void)
{
	struct timespec	 tick = { 0, 100 * 1000 * 1000 };
	size_t		 k;
	int		 i, alive, round;

	for (k = 0; k < nprogs; k++)
		for (i = 0; i < progs[k].count; i++)
			if (progs[k].pid[i] > 0)
				kill(progs[k].pid[i], SIGTERM);
	for (round = 0; round < STOP_GRACE_S * 10; round++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		alive = 0;
		for (k = 0; k < nprogs; k++)
			for (i = 0; i < progs[k].count; i++)
				if (progs[k].pid[i] > 0 &&
				    kill(progs[k].pid[i], 0) == 0)
					alive = 1;
				else
					progs[k].pid[i] = 0;
		if (!alive)
			break;
		nanosleep(&tick, NULL);
	}
	for (k = 0; k < nprogs; k++)
		for (i = 0; i < progs[k].count; i++)
			if (progs[k].pid[i] > 0) {
				say("sigil-%s[%d] did not stop; killing it",
				    progs[k].name, (int)progs[k].pid[i]);
				kill(progs[k].pid[i], SIGKILL);
				waitpid(progs[k].pid[i], NULL, 0);
			}
	for (k = 0; k < nprogs; k++)
		if (progs[k].fd != -1) {
			close(progs[k].fd);
			if (progs[k].tcp[0] == '\0')
				unlink(progs[k].sock);
		}
}

static void
usage(void)
{
	fprintf(stderr, "usage: sigil-supervise -c CONFIG -w WORKERS -s "
	    "SOCKET_DIR [-b BIN_DIR]\n\t[-G GROUP] [-m MODE] [PROGRAM ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*workers = NULL, *sockdir = NULL, *group = NULL;
	char		 self[PATH_MAX], *end;
	sigset_t	 set, orig;
	siginfo_t	 info;
	struct timespec	 second = { 1, 0 };
	struct group	*gr;
	gid_t		 gid = (gid_t)-1;
	mode_t		 mode = 0660;
	time_t		 now;
	size_t		 k;
	int		 ch, i, sig;

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
			mode = (mode_t)strtoul(optarg, &end, 8);
			if (*end != '\0' || mode > 0777)
				usage();
			break;
		case 's':
			sockdir = optarg;
			break;
		case 'w':
			workers = optarg;
			break;
		default:
			usage();
		}
	if (config == NULL || workers == NULL || sockdir == NULL)
		usage();
	if (bindir == NULL) {
		if (realpath(argv[0], self) == NULL) {
			say("cannot find my own directory; pass -b");
			return 1;
		}
		bindir = dirname(self);
	}
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			say("no group %s", group);
			return 1;
		}
		gid = gr->gr_gid;
	}
	if (read_workers(workers, argv + optind, argc - optind) == -1)
		return 1;
	for (k = 0; k < nprogs; k++)
		if (strcmp(progs[k].name, "notify") != 0 &&
		    make_socket(&progs[k], sockdir, gid, mode) == -1)
			return 1;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &orig);
	for (k = 0; k < nprogs; k++) {
		for (i = 0; i < progs[k].count; i++)
			start_worker(&progs[k], i, &orig);
		say("sigil-%s: %d worker(s)%s%s", progs[k].name,
		    progs[k].count, progs[k].fd != -1 ? " on " : "",
		    progs[k].fd != -1 ? progs[k].sock : "");
	}
	for (;;) {
		sig = sigtimedwait(&set, &info, &second);
		if (sig == SIGTERM || sig == SIGINT)
			break;		/* SIGHUP: nothing to reload */
		if (sig == SIGCHLD)
			reap();
		now = time(NULL);
		for (k = 0; k < nprogs; k++)
			for (i = 0; i < progs[k].count; i++)
				if (progs[k].pid[i] == 0 &&
				    progs[k].restart_at[i] != 0 &&
				    progs[k].restart_at[i] <= now)
					start_worker(&progs[k], i, &orig);
	}
	say("stopping");
	stop_all();
	return 0;
}
