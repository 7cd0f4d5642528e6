/*
 * Request counters shared by a program's workers, without a lock or a
 * database: one file per program under metrics_dir, mapped by every
 * worker, one row per worker (common/metrics.c).  The writer's side is
 * called by fcgi.c and the dispatcher and does nothing while metrics are
 * off; the reader's side (metrics_read) sums the rows for sigil-status.
 */
#ifndef SIGIL_METRICS_H
#define SIGIL_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bounds.h"

struct app;

/* Status classes counted: 2xx (and below), 3xx, 4xx, 5xx (and above). */
#define METRICS_CLASSES		4
/* Latency buckets: the bounds below, then +Inf. */
#define METRICS_BUCKETS		14
#define METRICS_NAME		48	/* a route's or program's name, NUL */

extern const double	 metrics_bucket_le[METRICS_BUCKETS - 1];
extern const char *const metrics_class_name[METRICS_CLASSES];

/* Writer: each returns at once while metrics are off. */
int	 metrics_open(const char *, const struct app *, int, char *, size_t);
void	 metrics_begin(void);
void	 metrics_route(size_t, unsigned);
void	 metrics_end(int);
void	 metrics_close(void);

/* Reader: one program's figures, summed over its workers' rows. */
struct metrics_route_sum {
	char		 name[METRICS_NAME];
	uint64_t	 cls[METRICS_CLASSES];
	uint64_t	 bucket[METRICS_BUCKETS];	/* not cumulative */
	uint64_t	 sum_us;
	unsigned	 in_flight;
};

struct metrics_worker_view {
	pid_t		 pid;
	int		 busy;
	uint64_t	 served;		/* by this process */
	char		 route[METRICS_NAME];	/* current, else last */
	uint64_t	 duration_us;		/* so far, else the last's */
	uint64_t	 idle_us;		/* idle: for how long */
};

struct metrics_program {
	char				 name[METRICS_NAME];
	size_t				 nroutes;
	struct metrics_route_sum	 routes[MAX_METRICS_ROUTES];
	size_t				 nworkers;	/* alive */
	struct metrics_worker_view	 workers[MAX_METRICS_WORKERS];
};

int	 metrics_read(const char *, struct metrics_program **, size_t *,
	    char *, size_t);
int	 metrics_read_program(const char *, const char *,
	    struct metrics_program *);

#endif /* !SIGIL_METRICS_H */
