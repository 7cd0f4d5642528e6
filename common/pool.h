/*
 * A worker pool's figures, as sigil-supervise sees them: its bounds, its
 * listening socket's queue, and what it started and stopped and why.
 * The supervisor publishes them in <metrics_dir>/<program>.pool, a small
 * file of fixed layout it alone writes (common/pool.c); sigil-status
 * reads them beside the workers' own counters (common/metrics.c).
 */
#ifndef SIGIL_POOL_H
#define SIGIL_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POOL_NAME	48		/* a program's name, NUL */
#define MAX_POOLS	32		/* pool files read */

struct pool_figures {
	char		 program[POOL_NAME];	/* "lookup" */
	pid_t		 supervisor;
	uint64_t	 min;			/* bounds: equal when static */
	uint64_t	 max;
	uint64_t	 idle_timeout;		/* seconds */
	uint64_t	 max_requests;		/* 0: never recycled */
	uint64_t	 workers;		/* running now */
	uint64_t	 queue;			/* connections waiting now */
	uint64_t	 queue_max;		/* most seen waiting */
	uint64_t	 queue_limit;		/* the socket's backlog */
	uint64_t	 max_reached;		/* times at max with a queue */
	uint64_t	 grown;			/* started for the load */
	uint64_t	 shrunk;		/* stopped after idle_timeout */
	uint64_t	 recycled;		/* replaced after max_requests */
	uint64_t	 restarts;		/* exited unasked, started again */
};

struct pool_file;

/* Writer (sigil-supervise). */
struct pool_file *pool_file_open(const char *, const char *, char *, size_t);
void	 pool_file_publish(struct pool_file *, const struct pool_figures *);
void	 pool_file_close(struct pool_file *);

/* Reader (sigil-status): 1 and *out filled, 0 when no live pool. */
int	 pool_read(const char *, const char *, struct pool_figures *);
int	 pool_read_all(const char *, struct pool_figures **, size_t *);

/* The listening socket fd's queue now and its limit.  0, or -1. */
int	 pool_listen_queue(int, uint64_t *, uint64_t *);

#endif /* !SIGIL_POOL_H */
