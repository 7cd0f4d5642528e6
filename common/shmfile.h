/*
 * Files of fixed layout that processes map MAP_SHARED to share counters
 * (common/metrics.c, common/pool.c): made whole beside their name and
 * renamed over it, so that no process ever maps a half-made one, and
 * opened without following a symbolic link.
 */
#ifndef SIGIL_SHMFILE_H
#define SIGIL_SHMFILE_H

#include <stddef.h>
#include <sys/types.h>

void	*shmfile_create(const char *, size_t, const void *, size_t, mode_t,
	    int *);
void	*shmfile_map(const char *, size_t, const void *, size_t, mode_t);

#endif /* !SIGIL_SHMFILE_H */
