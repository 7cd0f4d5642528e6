/*
 * Pool figures shared between sigil-supervise and sigil-status.  The
 * supervisor maps <metrics_dir>/<program>.pool read-write and stores
 * each figure with a C11 atomic store when it changes (a few times a
 * second at most); readers map it read-only.  A figure is whole when
 * read, the set of them is not one instant (a reader may see a grown
 * count and the old worker total), which a scrape does not mind.  The
 * supervisor holds an exclusive flock on the file while it lives: a
 * reader that can take a shared one has found a stale file (its
 * supervisor was killed) and takes it for no pool.  The supervisor
 * removes it on exit, unless another has replaced it meanwhile.  The
 * folder and the files are trusted only as shmfile.c says (this user's,
 * writable by nobody else): a reader skips a file that is not.
 *
 * It also reads how many connections wait on a listening socket, the
 * accept queue: for TCP from TCP_INFO, for a unix socket from the
 * kernel's socket diagnostics (netlink, by the socket's inode), the
 * figures ss(8) shows as Recv-Q and Send-Q of a listening socket.
 *
 * And it decides, from those figures alone, what the supervisor does
 * with a pool at each tick (pool_plan()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pool.h"
#include "shmfile.h"
#include "util.h"

#define POOL_MAGIC	UINT64_C(0x314c4f4f504c4753)	/* "SGLPOOL1" */
#define POOL_VERSION	1
#define POOL_FIGURES	13	/* the uint64_t figures, min to restarts */

struct pool_shm {
	uint64_t		 magic;
	uint32_t		 version;
	uint32_t		 pad;
	uint64_t		 size;
	char			 program[POOL_NAME];
	_Atomic int32_t		 supervisor;
	uint32_t		 pad2;
	_Atomic uint64_t	 v[POOL_FIGURES];
};

struct pool_file {
	struct pool_shm	*m;
	int		 fd;		/* open, flock()ed */
	int		 dfd;		/* its folder */
	char		 name[POOL_NAME + 8];
};

/* The figures of f in file order. */
#define FIGURE_PTRS(f) {						\
	&(f)->min, &(f)->max, &(f)->idle_timeout, &(f)->max_requests,	\
	&(f)->workers, &(f)->queue, &(f)->queue_max, &(f)->queue_limit,	\
	&(f)->max_reached, &(f)->grown, &(f)->shrunk, &(f)->recycled,	\
	&(f)->restarts }

/*
 * Makes <dir>/<program>.pool anew (written beside, renamed over) and
 * maps it, dir checked first (shmfile_dir_open()).  Returns the file
 * (pool_file_close() frees it), or NULL with why in err.
 */
struct pool_file *
pool_file_open(const char *dir, const char *program, char *err, size_t errlen)
{
	struct pool_file	*pf;
	struct pool_shm		*h;
	char			 why[512];

	if (strlen(program) >= POOL_NAME || strchr(program, '/') != NULL) {
		snprintf(err, errlen, "%s: the pool file's name is too long",
		    dir);
		return NULL;
	}
	pf = xcalloc(1, sizeof(*pf));
	snprintf(pf->name, sizeof(pf->name), "%s.pool", program);
	if ((pf->dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "metrics_dir: %s", why);
		free(pf);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->magic = POOL_MAGIC;
	h->version = POOL_VERSION;
	h->size = sizeof(struct pool_shm);
	snprintf(h->program, POOL_NAME, "%s", program);
	atomic_store(&h->supervisor, (int32_t)getpid());
	/* Readable by all: the web server's user runs sigil-status; held
	 * under an exclusive flock while this process lives. */
	pf->m = shmfile_create(pf->dfd, pf->name, sizeof(struct pool_shm), h,
	    offsetof(struct pool_shm, v), 0644, &pf->fd);
	free(h);
	if (pf->m == NULL) {
		snprintf(err, errlen, "%s/%s: %s", dir, pf->name,
		    strerror(errno));
		close(pf->dfd);
		free(pf);
		return NULL;
	}
	return pf;
}

/* Stores the figures of f (its name and supervisor are the file's). */
void
pool_file_publish(struct pool_file *pf, const struct pool_figures *f)
{
	const uint64_t	*v[POOL_FIGURES] = FIGURE_PTRS(f);
	size_t		 i;

	if (pf == NULL)
		return;
	for (i = 0; i < POOL_FIGURES; i++)
		atomic_store_explicit(&pf->m->v[i], *v[i],
		    memory_order_relaxed);
}

/* Removes the file (if it is still this one) and frees pf. */
void
pool_file_close(struct pool_file *pf)
{
	struct stat	 mine, there;

	if (pf == NULL)
		return;
	if (fstat(pf->fd, &mine) == 0 && fstatat(pf->dfd, pf->name, &there,
	    AT_SYMLINK_NOFOLLOW) == 0 && mine.st_ino == there.st_ino &&
	    mine.st_dev == there.st_dev)
		unlinkat(pf->dfd, pf->name, 0);
	shmfile_unmap(pf->m, sizeof(struct pool_shm));
	close(pf->fd);
	close(pf->dfd);
	free(pf);
}

/*
 * Reads <program>.pool in the folder dfd (checked) into *out.  Returns
 * 1, or 0 when there is no such file, it is not a pool file or not one
 * to trust (shmfile_open_ro()), its supervisor is gone, or it was
 * truncated while read.
 */
static int
read_at(int dfd, const char *program, struct pool_figures *out)
{
	struct pool_shm	*m;
	char		 name[POOL_NAME + 8];
	uint64_t	*v[POOL_FIGURES] = FIGURE_PTRS(out);
	int32_t		 sup;
	size_t		 i;
	int		 fd, ok = 0;

	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(name, sizeof(name), "%s.pool", program) >=
	    sizeof(name) || strchr(program, '/') != NULL)
		return 0;
	if ((fd = shmfile_open_ro(dfd, name, sizeof(struct pool_shm))) == -1)
		return 0;
	/* A shared lock granted: no supervisor holds it, a stale file. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK ||
	    (m = shmfile_map_ro(fd, sizeof(struct pool_shm))) == NULL) {
		close(fd);
		return 0;
	}
	close(fd);
	sup = atomic_load(&m->supervisor);
	if (m->magic == POOL_MAGIC && m->version == POOL_VERSION &&
	    m->size == sizeof(struct pool_shm) && sup > 0 &&
	    strncmp(m->program, program, POOL_NAME) == 0) {
		memcpy(out->program, m->program, POOL_NAME);
		out->program[POOL_NAME - 1] = '\0';
		out->supervisor = sup;
		for (i = 0; i < POOL_FIGURES; i++)
			*v[i] = atomic_load_explicit(&m->v[i],
			    memory_order_relaxed);
		ok = !shmfile_lost(m);
	}
	shmfile_unmap(m, sizeof(struct pool_shm));
	if (!ok)
		memset(out, 0, sizeof(*out));
	return ok;
}

/*
 * Reads <dir>/<program>.pool into *out.  Returns 1, or 0 when there is
 * no such file, it or dir is not to be trusted (shmfile.c), it is not a
 * pool file, or its supervisor is gone.
 */
int
pool_read(const char *dir, const char *program, struct pool_figures *out)
{
	char	 why[512];
	int	 dfd, ok;

	memset(out, 0, sizeof(*out));
	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1)
		return 0;
	ok = read_at(dfd, program, out);
	close(dfd);
	return ok;
}

static int
figures_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pool_figures *)a)->program,
	    ((const struct pool_figures *)b)->program);
}

/*
 * Reads every live pool under dir into *out (the caller frees it),
 * sorted by program, and their number into *n.  Returns 0, or -1 when
 * dir cannot be read or is not to be trusted.
 */
int
pool_read_all(const char *dir, struct pool_figures **out, size_t *n)
{
	DIR			*d;
	struct dirent		*de;
	struct pool_figures	*all;
	char			 name[POOL_NAME];
	size_t			 len, count = 0;
	char			 why[512];
	int			 dfd;

	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	all = xcalloc(MAX_POOLS, sizeof(*all));
	while ((de = readdir(d)) != NULL && count < MAX_POOLS) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 || len - 5 >= POOL_NAME ||
		    strcmp(de->d_name + len - 5, ".pool") != 0)
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		count += (size_t)read_at(dfd, name, &all[count]);
	}
	closedir(d);
	qsort(all, count, sizeof(*all), figures_cmp);
	*out = all;
	*n = count;
	return 0;
}

/* The netlink socket for unix sockets' queues, opened once. */
static int	 diag_fd = -1;
static uint32_t	 diag_seq;

/* A unix listening socket's queue, by its inode.  Returns 0 or -1. */
static int
unix_queue(ino_t ino, uint64_t *queue, uint64_t *limit)
{
	struct {
		struct nlmsghdr		 nlh;
		struct unix_diag_req	 r;
	} rq;
	struct sockaddr_nl	 kernel;
	struct timeval		 tv = { 0, 100 * 1000 };
	struct nlmsghdr		*h;
	struct unix_diag_msg	*msg;
	struct unix_diag_rqlen	*rl;
	struct nlmsgerr		*err;
	struct rtattr		*a;
	_Alignas(struct nlmsghdr) char ans[8192];
	ssize_t			 n;
	int			 len;

	if (diag_fd == -1) {
		if ((diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		    NETLINK_SOCK_DIAG)) == -1)
			return -1;
		setsockopt(diag_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	memset(&rq, 0, sizeof(rq));
	rq.nlh.nlmsg_len = sizeof(rq);
	rq.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	rq.nlh.nlmsg_flags = NLM_F_REQUEST;
	rq.nlh.nlmsg_seq = ++diag_seq;
	rq.r.sdiag_family = AF_UNIX;
	rq.r.udiag_states = ~0U;
	rq.r.udiag_ino = (uint32_t)ino;
	rq.r.udiag_show = UDIAG_SHOW_RQLEN;
	rq.r.udiag_cookie[0] = INET_DIAG_NOCOOKIE;
	rq.r.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK;
	if (sendto(diag_fd, &rq, sizeof(rq), 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) == -1)
		return -1;
	for (;;) {
		if ((n = recv(diag_fd, ans, sizeof(ans), 0)) <= 0)
			return -1;
		len = (int)n;
		for (h = (struct nlmsghdr *)(void *)ans; NLMSG_OK(h, len);
		    h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != diag_seq)
				continue;	/* an earlier, late answer */
			if (h->nlmsg_type == NLMSG_ERROR &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*err))) {
				err = NLMSG_DATA(h);
				errno = err->error < 0 ? -err->error : EIO;
				return -1;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*msg))) {
				errno = EPROTO;
				return -1;
			}
			msg = NLMSG_DATA(h);
			len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
			for (a = (struct rtattr *)(void *)(msg + 1);
			    RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == UNIX_DIAG_RQLEN &&
				    RTA_PAYLOAD(a) >= sizeof(*rl)) {
					rl = RTA_DATA(a);
					*queue = rl->udiag_rqueue;
					*limit = rl->udiag_wqueue;
					return 0;
				}
			errno = ENOTSUP;
			return -1;
		}
	}
}

/*
 * The connections waiting in the accept queue of the listening socket
 * fd (unix or TCP) into *queue, its backlog into *limit.  Returns 0, or
 * -1 when the kernel would not tell.
 */
int
pool_listen_queue(int fd, uint64_t *queue, uint64_t *limit)
{
	struct sockaddr_storage	 ss;
	struct tcp_info		 ti;
	struct stat		 st;
	socklen_t		 len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_UNIX)
		return fstat(fd, &st) == -1 ? -1 :
		    unix_queue(st.st_ino, queue, limit);
	len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	/* A listening socket's: its accept queue and backlog. */
	*queue = ti.tcpi_unacked;
	*limit = ti.tcpi_sacked;
	return 0;
}

/* Whether a slot counts as occupied: running, or about to run again. */
static int
slot_occupied(enum pool_slot_state s)
{
	return s == POOL_SLOT_RUNNING || s == POOL_SLOT_RESTARTING ||
	    s == POOL_SLOT_STOPPING_RECYCLE;
}

/*
 * Decides what pool set in state st does now, into *pl: start workers
 * while connections wait and every worker is busy (up to max, at most
 * POOL_GROW_STEP a tick), stop those idle past the timeout (down to min),
 * and replace one that served max_requests (one a tick, so that a pool
 * whose workers reach it together is not emptied; never one started
 * within the second, whose row may still show a predecessor's count).
 * Without the queue figure every worker busy stands for one waiting,
 * and one worker stays however long idle.  A worker without a row is
 * starting (not busy), or after 5 s not counted (rows all taken).
 */
void
pool_plan(const struct pool_settings *set, const struct pool_state *st,
    struct pool_plan *pl)
{
	const struct pool_slot *s;
	int		 i, recycled = 0, floor, grow, total;

	memset(pl, 0, sizeof(*pl));
	for (i = 0; i < set->max; i++) {
		s = &st->slots[i];
		if (slot_occupied(s->state))
			pl->total++;
		if (s->state != POOL_SLOT_RUNNING ||
		    (!s->has_row && st->now - s->started > 5))
			continue;
		pl->running++;
		if (s->has_row && s->busy)
			pl->busy++;
		if (s->has_row && set->max_requests != 0 && !recycled &&
		    st->now - s->started >= 1 &&
		    s->served >= set->max_requests) {
			pl->act[i] = POOL_RECYCLE;
			recycled = 1;
		}
	}
	floor = set->min;
	pl->queue = st->queue;
	if (!st->queue_known) {
		pl->queue = pl->busy >= pl->running ? 1 : 0;
		if (floor == 0)
			floor = 1;
	}
	if (pl->queue > 0 && pl->busy >= pl->running && pl->total < set->max) {
		grow = set->max - pl->total;
		if ((uint64_t)grow > pl->queue)
			grow = (int)pl->queue;
		if (grow > POOL_GROW_STEP)
			grow = POOL_GROW_STEP;
		pl->grow = grow;
		for (i = 0; i < set->max && grow > 0; i++)
			if (st->slots[i].state == POOL_SLOT_EMPTY) {
				pl->act[i] = POOL_START;
				grow--;
			}
	}
	/* Not when it just started more (running <= total < max then). */
	pl->saturated = pl->queue > 0 && pl->busy >= pl->running &&
	    pl->total >= set->max && pl->running >= set->max;
	if (pl->queue != 0)
		return;
	for (total = pl->total, i = 0; total > floor && i < set->max; i++) {
		s = &st->slots[i];
		if (s->state != POOL_SLOT_RUNNING || pl->act[i] != POOL_KEEP ||
		    !s->has_row || s->busy ||
		    s->idle_us < (uint64_t)set->idle * 1000000)
			continue;
		pl->act[i] = POOL_STOP_IDLE;
		total--;
	}
}
