/*
 * Shared counter files: see shmfile.h.  A file starts with a header
 * (magic, version, size, and whatever else fixes its layout); a file
 * whose first bytes are not the expected header is of another layout
 * (another build, another route table) and is replaced, not reused.
 *
 * What is trusted.  Every program of an installation runs as one user
 * (the shipped units' User=sigil, mod_fcgid's or suexec's user on a
 * shared host), and the counters are only ever written by that user:
 *
 * - the folder must belong to that user or to root and be writable by
 *   neither group nor others (a sticky bit does not make it safe: in a
 *   world-writable sticky folder another user can still make the names
 *   first);
 * - a file must be a regular file of that user, writable by neither
 *   group nor others, of the layout's exact size.  Opened with
 *   O_NOFOLLOW, checked with fstat() on the open descriptor, never by
 *   name.
 *
 * In a trusted folder only this user (or root) can have made a file that
 * fails these checks, so a writer replaces it (written beside, renamed
 * over: rename() replaces a symbolic link itself, not what it names),
 * saying so in its log; a reader skips it.  Nobody else can then truncate
 * a mapped file, and a writer never opens its file again by name (a file
 * renamed over it is not followed).  Still, this user or root can
 * truncate it: every mapping here is guarded, and a SIGBUS on a guarded
 * mapping (an access past the file's new end) swaps the whole mapping
 * for private zeroed memory at the same address, marks it lost
 * (shmfile_lost()) and lets the access go on, where it would have killed
 * the process.  A SIGBUS elsewhere gets the handler that was there
 * before.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "shmfile.h"

#define GUARDS	64	/* mappings guarded at once */

/* A guarded mapping: base 0 is a free slot. */
static struct guard {
	_Atomic uintptr_t	 base;
	_Atomic size_t		 len;
	_Atomic int		 lost;
} guards[GUARDS];

static _Atomic unsigned	 losses;	/* mappings lost so far */
static struct sigaction	 old_bus;
static int		 bus_installed;

static int	 dir_open(const char *, int, char *, size_t);

/*
 * SIGBUS: when the faulting address is in a guarded mapping, the
 * mapping becomes private zeroed memory (the access then goes on) and is
 * marked lost; else the previous handler is put back, and the access,
 * made again on return, gets it.  Only atomics and mmap(), a plain
 * system call.
 */
static void
on_bus(int sig, siginfo_t *si, void *uc)
{
	uintptr_t	 a = (uintptr_t)si->si_addr, b;
	size_t		 i, len;

	(void)sig;
	(void)uc;
	for (i = 0; i < GUARDS; i++) {
		b = atomic_load(&guards[i].base);
		len = atomic_load(&guards[i].len);
		if (b == 0 || a < b || a - b >= len)
			continue;
		if (mmap((void *)b, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			break;
		atomic_store(&guards[i].lost, 1);
		atomic_fetch_add(&losses, 1);
		return;
	}
	sigaction(SIGBUS, &old_bus, NULL);
}

/* Guards the mapping m of len bytes.  Returns 0, or -1 (table full). */
static int
guard(void *m, size_t len)
{
	struct sigaction	 sa;
	uintptr_t		 zero;
	size_t			 i;

	if (!bus_installed) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_bus;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, &old_bus) == -1)
			return -1;
		bus_installed = 1;
	}
	for (i = 0; i < GUARDS; i++) {
		zero = 0;
		if (atomic_load(&guards[i].base) != 0)
			continue;
		atomic_store(&guards[i].len, len);
		atomic_store(&guards[i].lost, 0);
		if (atomic_compare_exchange_strong(&guards[i].base, &zero,
		    (uintptr_t)m))
			return 0;
	}
	errno = ENOSPC;
	return -1;
}

/* The guard slot of the mapping m, or NULL. */
static struct guard *
guard_of(const void *m)
{
	size_t	 i;

	for (i = 0; m != NULL && i < GUARDS; i++)
		if (atomic_load(&guards[i].base) == (uintptr_t)m)
			return &guards[i];
	return NULL;
}

/*
 * Maps size bytes of fd MAP_SHARED with prot, guarded.  Returns the
 * mapping, or NULL with errno set.
 */
static void *
map_guarded(int fd, size_t size, int prot)
{
	void	*m;
	int	 saved;

	if ((m = mmap(NULL, size, prot, MAP_SHARED, fd, 0)) == MAP_FAILED)
		return NULL;
	if (guard(m, size) == -1) {
		saved = errno;
		munmap(m, size);
		errno = saved;
		return NULL;
	}
	return m;
}

/*
 * Unmaps the mapping m of size bytes (made here; NULL: nothing) and
 * forgets its guard.
 */
void
shmfile_unmap(void *m, size_t size)
{
	struct guard	*g;

	if (m == NULL)
		return;
	if ((g = guard_of(m)) != NULL)
		atomic_store(&g->base, 0);
	munmap(m, size);
}

/*
 * How many guarded mappings this process has lost so far: one load, for
 * a caller that looks on every request before asking shmfile_lost().
 */
unsigned
shmfile_losses(void)
{
	return atomic_load_explicit(&losses, memory_order_relaxed);
}

/*
 * Whether the mapping m (made here) has been lost: its file was
 * truncated under it, and what it holds now is this process's alone.
 */
int
shmfile_lost(const void *m)
{
	struct guard	*g;

	return (g = guard_of(m)) != NULL && atomic_load(&g->lost);
}

/*
 * Opens the folder dir for the shared files and checks it: a folder
 * (a symbolic link to one is followed: the operator named it) of this
 * process's user or root, writable by neither group nor others.
 * Returns its descriptor (O_CLOEXEC, the caller closes it), or -1 with
 * why in why (errno set).
 */
int
shmfile_dir_open(const char *dir, char *why, size_t whylen)
{
	return dir_open(dir, 0, why, whylen);
}

/*
 * Checks the folder dir as shmfile_dir_open() would for the programs'
 * user, from a check (-t) that root may run for them: as root, a folder
 * of another user is taken to be theirs, and only its mode is judged.
 * Returns 0, or -1 with why in why.
 */
int
shmfile_dir_check(const char *dir, char *why, size_t whylen)
{
	int	 fd;

	if ((fd = dir_open(dir, geteuid() == 0, why, whylen)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* shmfile_dir_open(), of any owner with any_owner. */
static int
dir_open(const char *dir, int any_owner, char *why, size_t whylen)
{
	struct stat	 st;
	int		 fd, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		saved = errno;
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		errno = saved;
		return -1;
	}
	if (!any_owner && st.st_uid != geteuid() && st.st_uid != 0)
		snprintf(why, whylen, "%s: refused: owned by uid %ld, not by "
		    "this process's user (uid %ld) or root", dir,
		    (long)st.st_uid, (long)geteuid());
	else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		snprintf(why, whylen, "%s: refused: writable by %s (mode "
		    "%04o)", dir, (st.st_mode & S_IWOTH) != 0 ? "others" :
		    "its group", (unsigned)(st.st_mode & 07777));
	else
		return fd;
	close(fd);
	errno = EPERM;
	return -1;
}

/*
 * Checks the open file fd: a regular file of this process's user,
 * writable by neither group nor others, of size bytes.  Returns 0; 1
 * when it is all that but of another size (another layout); -1 when it
 * is not to be trusted; why says why when not 0.
 */
int
shmfile_check(int fd, size_t size, char *why, size_t whylen)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "owned by uid %ld, not by this "
		    "process's user (uid %ld)", (long)st.st_uid,
		    (long)geteuid());
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(why, whylen, "writable by %s (mode %04o)",
		    (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size != (uintmax_t)size) {
		snprintf(why, whylen, "%jd bytes, not %zu", (intmax_t)st.st_size,
		    size);
		return 1;
	}
	return 0;
}

/*
 * A new file name in the folder dfd, of size bytes, zeroed but for
 * hdrlen bytes of hdr at its start, with mode: written beside it
 * (O_EXCL), then renamed over whatever has the name.  With fdp, the
 * file stays open there, exclusively flock()ed from before it has its
 * name (its maker's lifetime lock); else it is closed.  Returns the
 * read-write mapping (guarded; shmfile_unmap()), or NULL with errno set.
 */
void *
shmfile_create(int dfd, const char *name, size_t size, const void *hdr,
    size_t hdrlen, mode_t mode, int *fdp)
{
	char	 tmp[4096];
	void	*m = NULL;
	int	 fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", name, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	unlinkat(dfd, tmp, 0);		/* one left by a process of our pid */
	if ((fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return NULL;
	if (fchmod(fd, mode) == 0 &&	/* whatever the umask */
	    (fdp == NULL || flock(fd, LOCK_EX | LOCK_NB) == 0) &&
	    ftruncate(fd, (off_t)size) == 0)
		m = map_guarded(fd, size, PROT_READ | PROT_WRITE);
	if (m == NULL || (memcpy(m, hdr, hdrlen),
	    renameat(dfd, tmp, dfd, name) == -1)) {
		saved = errno;
		shmfile_unmap(m, size);
		unlinkat(dfd, tmp, 0);
		close(fd);
		errno = saved;
		return NULL;
	}
	if (fdp != NULL)
		*fdp = fd;
	else
		close(fd);
	return m;
}

/*
 * Puts a new file at name in dfd (see shmfile_create()) in place of one
 * this process could not open (a symbolic link, a socket, another
 * user's), without mapping it.  Returns 0, or -1 with errno set.
 */
static int
replace(int dfd, const char *name, size_t size, const void *hdr,
    size_t hdrlen, mode_t mode)
{
	void	*m;

	if ((m = shmfile_create(dfd, name, size, hdr, hdrlen, mode,
	    NULL)) == NULL)
		return -1;
	shmfile_unmap(m, size);
	return 0;
}

/*
 * Maps the file name in the folder dfd (checked: shmfile_dir_open()), of
 * size bytes starting with the hdrlen bytes of hdr, for processes that
 * all write it.  Made anew with mode when it is missing, of another
 * layout, or not to be trusted (shmfile_check(); said in the log: in a
 * trusted folder only this user or root can have put it there), or when
 * the name is a symbolic link or anything else this process cannot
 * open.  The check and the making happen under an flock of the file,
 * and a file replaced meanwhile by another process is opened again.
 * Returns the read-write mapping (guarded; shmfile_unmap()), or NULL
 * with why in why and errno set.
 */
void *
shmfile_map(int dfd, const char *name, size_t size, const void *hdr,
    size_t hdrlen, mode_t mode, char *why, size_t whylen)
{
	struct stat	 st, st2;
	char		 bad[256];
	void		*m = NULL;
	int		 fd, tries, rc;

	for (tries = 0; tries < 5 && m == NULL; tries++) {
		if ((fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC, mode)) == -1) {
			if (errno != ELOOP && errno != EACCES &&
			    errno != EPERM && errno != ENXIO)
				goto fail;
			snprintf(bad, sizeof(bad), "%s", errno == ELOOP ?
			    "a symbolic link" : strerror(errno));
			if (replace(dfd, name, size, hdr, hdrlen, mode) == -1)
				goto fail;
			log_warn("%s: %s; made anew", name, bad);
			continue;
		}
		if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1) {
			close(fd);
			goto fail;
		}
		if (fstatat(dfd, name, &st2, AT_SYMLINK_NOFOLLOW) == -1 ||
		    st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
			close(fd);		/* replaced meanwhile */
			continue;
		}
		if ((rc = shmfile_check(fd, size, bad, sizeof(bad))) == 0) {
			if ((m = map_guarded(fd, size, PROT_READ |
			    PROT_WRITE)) == NULL) {
				flock(fd, LOCK_UN);
				close(fd);
				goto fail;
			}
			if (memcmp(m, hdr, hdrlen) != 0) {
				shmfile_unmap(m, size);
				m = NULL;
				rc = 1;
			}
		} else if (rc == -1)
			log_warn("%s: %s; made anew", name, bad);
		if (rc != 0)
			m = shmfile_create(dfd, name, size, hdr, hdrlen, mode,
			    NULL);
		/* Unlocked by hand: the mapping holds the file open, and
		 * with it the lock, after close(). */
		flock(fd, LOCK_UN);
		close(fd);
		if (m == NULL)
			goto fail;
	}
	if (m == NULL) {
		errno = EAGAIN;
		goto fail;
	}
	return m;
fail:
	snprintf(why, whylen, "%s: %s", name, strerror(errno));
	return NULL;
}

/*
 * Opens the file name in the folder dfd for reading, without following
 * a symbolic link or waiting on a FIFO, and checks it (shmfile_check():
 * of size bytes).  Returns the descriptor, or -1 (errno set) when there
 * is none or it is not to be trusted.
 */
int
shmfile_open_ro(int dfd, const char *name, size_t size)
{
	char	 why[256];
	int	 fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (shmfile_check(fd, size, why, sizeof(why)) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/*
 * Maps size bytes of fd (from shmfile_open_ro()) read-only, guarded.
 * Returns the mapping (shmfile_unmap()), or NULL with errno set.
 */
void *
shmfile_map_ro(int fd, size_t size)
{
	return map_guarded(fd, size, PROT_READ);
}
