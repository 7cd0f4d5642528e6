/*
 * Shared counter files: see shmfile.h.  A file starts with a header
 * (magic, version, size, and whatever else fixes its layout); a file
 * whose first bytes are not the expected header is of another layout
 * (another build, another route table) and is replaced, not reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmfile.h"

/*
 * A new file at path of size bytes, zeroed but for hdrlen bytes of hdr
 * at its start, with mode: written beside it (O_EXCL), then renamed over
 * it.  With fdp, the file stays open there, exclusively flock()ed from
 * before it has its name (its maker's lifetime lock); else it is
 * closed.  Returns the read-write mapping, or NULL with errno set.
 */
void *
shmfile_create(const char *path, size_t size, const void *hdr, size_t hdrlen,
    mode_t mode, int *fdp)
{
	char	 tmp[4096];
	void	*m = MAP_FAILED;
	int	 fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	unlink(tmp);			/* one left by a process of our pid */
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return NULL;
	if (fchmod(fd, mode) == 0 &&	/* whatever the umask */
	    (fdp == NULL || flock(fd, LOCK_EX | LOCK_NB) == 0) &&
	    ftruncate(fd, (off_t)size) == 0)
		m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0);
	if (m == MAP_FAILED || (memcpy(m, hdr, hdrlen),
	    rename(tmp, path) == -1)) {
		saved = errno;
		if (m != MAP_FAILED)
			munmap(m, size);
		unlink(tmp);
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
 * Maps the file at path (size bytes, starting with the hdrlen bytes of
 * hdr), making it anew with mode when it is missing or of another
 * layout, for processes that all write it.  The check and the making
 * happen under an flock of the file, and a file replaced meanwhile by
 * another process is opened again.  Returns the read-write mapping, or
 * NULL with errno set.
 */
void *
shmfile_map(const char *path, size_t size, const void *hdr, size_t hdrlen,
    mode_t mode)
{
	struct stat	 st, st2;
	void		*m = NULL;
	int		 fd, tries;

	for (tries = 0; tries < 5 && m == NULL; tries++) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC, mode)) == -1)
			return NULL;
		if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1) {
			close(fd);
			return NULL;
		}
		if (stat(path, &st2) == -1 || st2.st_ino != st.st_ino ||
		    st2.st_dev != st.st_dev) {
			close(fd);		/* replaced meanwhile */
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			close(fd);
			errno = EINVAL;
			return NULL;
		}
		if ((size_t)st.st_size == size) {
			m = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
			if (m == MAP_FAILED) {
				flock(fd, LOCK_UN);
				close(fd);
				return NULL;
			}
			if (memcmp(m, hdr, hdrlen) != 0) {
				munmap(m, size);
				m = shmfile_create(path, size, hdr, hdrlen,
				    mode, NULL);
			}
		} else
			m = shmfile_create(path, size, hdr, hdrlen, mode,
			    NULL);
		/* Unlocked by hand: the mapping holds the file open, and
		 * with it the lock, after close(). */
		flock(fd, LOCK_UN);
		close(fd);
		if (m == NULL)
			return NULL;
	}
	if (m == NULL)
		errno = EAGAIN;
	return m;
}
