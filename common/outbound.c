/*
 * Outbound calls shared across a host's workers (see outbound.h).
 *
 * Slots: <metrics_dir>/<program>.outbound is a file of no content; slot
 * i is an open-file-description lock (F_OFD_SETLK) on its byte i.  A
 * worker takes the first free slot below the limit without waiting and
 * gives it back when its call ends; the kernel gives back the slot of a
 * worker that dies in a call (killed, crashed) when its file is closed,
 * so no slot is ever lost and none is held by a pid reused since.
 *
 * Memos: <metrics_dir>/outbound.origins holds a fixed table of entries,
 * one per (kind, server name), at a place its hash chooses (a few
 * places probed), read and written with pread/pwrite under a lock of
 * the whole file (shared to read, exclusive to write).  Nothing of it
 * is mapped: a file cut short by anyone reads as entries missing, never
 * as a fault.  Each entry carries a checksum, so one half-written by a
 * process killed meanwhile is taken for none.  Expiry is in Unix time
 * (ms), the same clock in every process.
 *
 * Both files are made 0600 without following a link, in a folder and
 * as files trusted as the shared counters are (shmfile.c), else not
 * used.
 */
#define _GNU_SOURCE		/* F_OFD_SETLK */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "outbound.h"
#include "pool.h"
#include "shmfile.h"
#include "util.h"

#define MEMO_MAGIC	UINT64_C(0x314f474f4c474953)	/* "SIGLOGO1" */
#define MEMO_VERSION	1
#define MEMO_ENTRIES	512
#define MEMO_PROBES	8
#define MEMO_HEADER	64		/* bytes before the first entry */
#define MAX_SLOTS	1000		/* cfg's outbound_concurrency bound */
#define POOL_RECHECK_MS	2000		/* the pool's size, read again */

struct memo_header {
	uint64_t	 magic;
	uint32_t	 version;
	uint32_t	 entries;
	uint64_t	 entry_size;
};

struct memo_entry {
	uint32_t	 kind;		/* enum outbound_memo_kind + 1; 0: free */
	uint32_t	 sum;		/* FNV-1a of the entry, sum 0 */
	int64_t		 expires_ms;
	uint32_t	 failed;
	uint32_t	 pad;
	char		 name[MAX_SERVER_NAME + 1];
	char		 value[MAX_SERVER_NAME + 1];
};

static struct {
	int		 slots_fd;	/* -1: no shared slots */
	int		 memo_fd;	/* -1: no shared memos */
	int		 held;		/* the slot held, or -1 */
	int		 opened;	/* the files were tried, or none set */
	int64_t		 configured;	/* outbound_concurrency; 0: auto */
	int		 limit;		/* the auto limit last worked out */
	int64_t		 limit_at;	/* when, ms */
	char		 dir[4096];
	char		 program[64];	/* "account" */
} ob = { -1, -1, -1, 1, 0, 0, 0, "", "" };

/*
 * Opens (making it when missing) the file name under dir for this user
 * alone, trusted as the shared counters are (shmfile.c: the folder and
 * the file this user's, writable by no one else; the file's size is the
 * caller's to check).  Returns the descriptor, or -1 after logging why.
 */
static int
open_private(const char *dir, const char *name)
{
	char	 why[512];
	int	 dfd, fd;

	if ((dfd = shmfile_dir_open(dir, why, sizeof(why))) == -1) {
		log_warn("outbound: %s; nothing shared", why);
		return -1;
	}
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0600);
	close(dfd);
	if (fd == -1) {
		log_warn("outbound: %s/%s: %s; not shared", dir, name,
		    strerror(errno));
		return -1;
	}
	if (shmfile_check(fd, 0, why, sizeof(why)) == -1) {
		log_warn("outbound: %s/%s: refused: %s; not shared", dir, name,
		    why);
		close(fd);
		return -1;
	}
	return fd;
}

/* Locks (type F_RDLCK, F_WRLCK or F_UNLCK) the whole memo file. */
static int
memo_lock(short type)
{
	struct flock	 fl = { .l_type = type, .l_whence = SEEK_SET };

	while (fcntl(ob.memo_fd, F_OFD_SETLKW, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Makes the memo file's layout this build's unless it already is. */
static int
memo_prepare(void)
{
	struct memo_header	 h = { MEMO_MAGIC, MEMO_VERSION, MEMO_ENTRIES,
	    sizeof(struct memo_entry) }, there;
	off_t			 size = MEMO_HEADER + (off_t)MEMO_ENTRIES *
	    (off_t)sizeof(struct memo_entry);
	struct stat		 st;
	int			 rc = 0;

	if (memo_lock(F_WRLCK) == -1)
		return -1;
	if (fstat(ob.memo_fd, &st) == -1 || st.st_size != size ||
	    pread(ob.memo_fd, &there, sizeof(there), 0) !=
	    (ssize_t)sizeof(there) || memcmp(&there, &h, sizeof(h)) != 0) {
		if (ftruncate(ob.memo_fd, 0) == -1 ||
		    ftruncate(ob.memo_fd, size) == -1 ||
		    pwrite(ob.memo_fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
			rc = -1;
	}
	memo_lock(F_UNLCK);
	return rc;
}

/*
 * Shares the outbound calls of program (e.g. "sigil-account") under dir
 * (NULL: nothing shared); configured is outbound_concurrency (0: half
 * the pool).  The files are opened at the first call, not here: a
 * check run (-t), perhaps by another user, makes none.  Returns 0.
 */
int
outbound_open(const char *dir, const char *program, int64_t configured)
{
	outbound_close();
	ob.configured = configured;
	ob.opened = dir == NULL;
	if (dir == NULL)
		return 0;
	if (strncmp(program, "sigil-", 6) == 0)
		program += 6;
	snprintf(ob.dir, sizeof(ob.dir), "%s", dir);
	snprintf(ob.program, sizeof(ob.program), "%s", program);
	return 0;
}

/*
 * Opens the files once, at the first call: a file that cannot be used
 * is logged and left out (calls then go out unshared).
 */
static void
open_files(void)
{
	char	 name[96];

	if (ob.opened)
		return;
	ob.opened = 1;
	snprintf(name, sizeof(name), "%s.outbound", ob.program);
	ob.slots_fd = open_private(ob.dir, name);
	if ((ob.memo_fd = open_private(ob.dir, "outbound.origins")) != -1 &&
	    memo_prepare() == -1) {
		log_warn("outbound: %s/outbound.origins: %s", ob.dir,
		    strerror(errno));
		close(ob.memo_fd);
		ob.memo_fd = -1;
	}
}

/* Gives back a slot still held and closes the files. */
void
outbound_close(void)
{
	outbound_leave();
	if (ob.slots_fd != -1)
		close(ob.slots_fd);
	if (ob.memo_fd != -1)
		close(ob.memo_fd);
	ob.slots_fd = ob.memo_fd = -1;
	ob.opened = 1;
	ob.limit = 0;
	ob.limit_at = 0;
}

/*
 * How many of this program's workers may wait on the outside at once:
 * outbound_concurrency, else half the pool and at least one.  The pool
 * is the supervisor's maximum (<program>.pool), else the workers alive
 * now (their rows in <program>.metrics), read again every 2 s.
 */
int
outbound_limit(void)
{
	struct pool_figures	 pf;
	struct metrics_program	*mp;
	int64_t			 now = now_ms(), pool = 0;

	if (ob.configured > 0)
		return ob.configured > MAX_SLOTS ? MAX_SLOTS :
		    (int)ob.configured;
	if (ob.limit > 0 && now - ob.limit_at < POOL_RECHECK_MS &&
	    now >= ob.limit_at)
		return ob.limit;
	if (pool_read(ob.dir, ob.program, &pf) && pf.max > 0)
		pool = (int64_t)pf.max;
	else {
		mp = xcalloc(1, sizeof(*mp));
		if (metrics_read_program(ob.dir, ob.program, mp))
			pool = (int64_t)mp->nworkers;
		free(mp);
	}
	pool /= 2;
	ob.limit = pool < 1 ? 1 : pool > MAX_SLOTS ? MAX_SLOTS : (int)pool;
	ob.limit_at = now;
	return ob.limit;
}

/*
 * Takes a slot for an outbound call.  Returns 1 (a slot held until
 * outbound_leave(); also when nothing is shared or a slot is held
 * already), or 0 when every slot is taken: the caller refuses the
 * request at once.
 */
int
outbound_enter(void)
{
	struct flock	 fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_len = 1 };
	int		 i, n;

	open_files();
	if (ob.slots_fd == -1 || ob.held != -1)
		return 1;
	n = outbound_limit();
	for (i = 0; i < n; i++) {
		fl.l_start = i;
		if (fcntl(ob.slots_fd, F_OFD_SETLK, &fl) == 0) {
			ob.held = i;
			return 1;
		}
		if (errno != EAGAIN && errno != EACCES) {
			log_warn("outbound: a slot of %s/%s.outbound: %s",
			    ob.dir, ob.program, strerror(errno));
			return 1;
		}
	}
	return 0;
}

/* Gives back the slot held, if any. */
void
outbound_leave(void)
{
	struct flock	 fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
	    .l_len = 1 };

	if (ob.held == -1)
		return;
	fl.l_start = ob.held;
	fcntl(ob.slots_fd, F_OFD_SETLK, &fl);
	ob.held = -1;
}

/* FNV-1a over n bytes of p, from h. */
static uint32_t
fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char	*c = p;

	while (n-- > 0)
		h = (h ^ *c++) * 16777619U;
	return h;
}

/* The entry's checksum (its sum field taken as 0). */
static uint32_t
entry_sum(const struct memo_entry *e)
{
	struct memo_entry	 c = *e;

	c.sum = 0;
	return fnv(2166136261U, &c, sizeof(c)) | 1;	/* never 0 */
}

/* The first place of (kind, name) in the table. */
static size_t
entry_home(enum outbound_memo_kind kind, const char *name)
{
	uint32_t	 k = (uint32_t)kind;

	return fnv(fnv(2166136261U, &k, sizeof(k)), name, strlen(name)) %
	    MEMO_ENTRIES;
}

/* Reads entry i into e: 0, or -1 (missing, cut short, bad checksum). */
static int
entry_read(size_t i, struct memo_entry *e)
{
	off_t	 at = MEMO_HEADER + (off_t)i * (off_t)sizeof(*e);

	if (pread(ob.memo_fd, e, sizeof(*e), at) != (ssize_t)sizeof(*e) ||
	    e->kind == 0 || e->sum != entry_sum(e)) {
		memset(e, 0, sizeof(*e));
		return -1;
	}
	e->name[MAX_SERVER_NAME] = e->value[MAX_SERVER_NAME] = '\0';
	return 0;
}

/*
 * Looks up what is remembered of name for kind, for the whole host.
 * Returns 1 with *out filled when an entry has not expired, else 0.
 */
int
outbound_recall(enum outbound_memo_kind kind, const char *name,
    struct outbound_memo *out)
{
	struct memo_entry	 e;
	size_t			 i, home;
	int64_t			 now = now_ms();
	int			 found = 0;

	open_files();
	if (ob.memo_fd == -1 || (unsigned)kind >= OUTBOUND_MEMO__MAX ||
	    memo_lock(F_RDLCK) == -1)
		return 0;
	home = entry_home(kind, name);
	for (i = 0; i < MEMO_PROBES && !found; i++)
		if (entry_read((home + i) % MEMO_ENTRIES, &e) == 0 &&
		    e.kind == (uint32_t)kind + 1 &&
		    strcmp(e.name, name) == 0 && e.expires_ms > now) {
			out->expires_ms = e.expires_ms;
			out->failed = e.failed != 0;
			snprintf(out->value, sizeof(out->value), "%s", e.value);
			found = 1;
		}
	memo_lock(F_UNLCK);
	return found;
}

/*
 * Remembers m for name and kind for the whole host, in place of what
 * was there for it, else of a free or expired entry, else of the one
 * that expires first among the places probed.
 */
void
outbound_remember(enum outbound_memo_kind kind, const char *name,
    const struct outbound_memo *m)
{
	struct memo_entry	 e, w;
	size_t			 i, at, home, best = MEMO_ENTRIES;
	int64_t			 now = now_ms(), best_exp = INT64_MAX;

	open_files();
	if (ob.memo_fd == -1 || (unsigned)kind >= OUTBOUND_MEMO__MAX ||
	    strlen(name) > MAX_SERVER_NAME || memo_lock(F_WRLCK) == -1)
		return;
	home = entry_home(kind, name);
	for (i = 0; i < MEMO_PROBES; i++) {
		at = (home + i) % MEMO_ENTRIES;
		if (entry_read(at, &e) == -1 || e.expires_ms <= now) {
			if (best_exp > 0) {
				best = at;
				best_exp = 0;
			}
			continue;
		}
		if (e.kind == (uint32_t)kind + 1 &&
		    strcmp(e.name, name) == 0) {
			best = at;
			break;
		}
		if (e.expires_ms < best_exp) {
			best = at;
			best_exp = e.expires_ms;
		}
	}
	memset(&w, 0, sizeof(w));
	w.kind = (uint32_t)kind + 1;
	w.expires_ms = m->expires_ms;
	w.failed = m->failed != 0;
	snprintf(w.name, sizeof(w.name), "%s", name);
	snprintf(w.value, sizeof(w.value), "%s", m->value);
	w.sum = entry_sum(&w);
	if (pwrite(ob.memo_fd, &w, sizeof(w), MEMO_HEADER + (off_t)best *
	    (off_t)sizeof(w)) != (ssize_t)sizeof(w))
		log_warn("outbound: %s/outbound.origins: %s", ob.dir,
		    strerror(errno));
	memo_lock(F_UNLCK);
}
