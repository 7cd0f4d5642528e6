/*
 * Files of fixed layout that processes map MAP_SHARED to share counters
 * (common/metrics.c, common/pool.c): made whole beside their name and
 * renamed over it, so that no process ever maps a half-made one, and
 * opened without following a symbolic link.
 *
 * Trusted only when nobody else can write them: the folder (metrics_dir)
 * belongs to the running user or root and is writable by neither group
 * nor others; a file belongs to the running user, is a regular file of
 * the layout's size and is writable by neither group nor others.  A
 * mapping is guarded: a file truncated under it (SIGBUS on the next
 * access) is swapped for private zeroed memory, and the process goes on.
 */
#ifndef SIGIL_SHMFILE_H
#define SIGIL_SHMFILE_H

#include <stddef.h>
#include <sys/types.h>

int	 shmfile_dir_open(const char *, char *, size_t);
int	 shmfile_dir_check(const char *, char *, size_t);
int	 shmfile_check(int, size_t, char *, size_t);
void	*shmfile_create(int, const char *, size_t, const void *, size_t,
	    mode_t, int *);
void	*shmfile_map(int, const char *, size_t, const void *, size_t, mode_t,
	    char *, size_t);
int	 shmfile_open_ro(int, const char *, size_t);
void	*shmfile_map_ro(int, size_t);
void	 shmfile_unmap(void *, size_t);
int	 shmfile_lost(const void *);
unsigned shmfile_losses(void);

#endif /* !SIGIL_SHMFILE_H */
