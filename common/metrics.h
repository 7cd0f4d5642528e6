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
#include "cfg.h"

/* Status classes counted: 2xx (and below), 3xx, 4xx, 5xx (and above). */
#define METRICS_CLASSES		4
/* Latency buckets: the bounds below, then +Inf. */
#define METRICS_BUCKETS		14
#define METRICS_NAME		48	/* a route's or program's name, NUL */
#define METRICS_METHOD		8	/* a route's method ("OPTIONS"), NUL */

extern const double	 metrics_bucket_le[METRICS_BUCKETS - 1];
extern const char *const metrics_class_name[METRICS_CLASSES];

/* Events a worker (or sigil-notify) counts besides its requests. */
enum metrics_event {
	METRICS_MAIL_SENT,
	METRICS_MAIL_FAILED,
	METRICS_SMS_SENT,
	METRICS_SMS_FAILED,
	METRICS_DB_ERROR,	/* a statement, BEGIN/COMMIT or connection */
	METRICS_DB_RECONNECT,	/* a connection made again after one was */
	METRICS_OUTBOUND_BUSY,	/* refused: every outbound slot was taken */
	METRICS_OUTBOUND_REMEMBERED, /* a call not made: it failed lately */
	METRICS_EVENTS
};

/*
 * Requests the web front refused by its own limits before any worker saw
 * them, counted by sigil-status when the front sends the refusal's
 * error page through it (its /_sigil/front-refusal route): by the status
 * and the limit.  Parallel to metrics_front_refusal[].
 */
enum metrics_front {
	METRICS_FRONT_RATE,		/* 429: a per-client request rate */
	METRICS_FRONT_CONNECTIONS,	/* 429: requests at once per client */
	METRICS_FRONT_OTHER_429,	/* 429: another limit of the front's */
	METRICS_FRONT_BODY,		/* 413: the body cap */
	METRICS_FRONT__MAX
};

struct metrics_front_kind {
	int		 status;
	const char	*reason;	/* the label, as the front names it */
};
extern const struct metrics_front_kind metrics_front_refusal[METRICS_FRONT__MAX];

/* The rate limits counted by name: the configuration's (enum
 * ratelimit_id), then "other" for a limit that is none of them. */
#define METRICS_LIMITS		(RATELIMIT__MAX + 1)
const char	*metrics_limit_name(size_t);

/*
 * A route of a program's table, as counted: its path after the API
 * prefix ("lookup"), its enum api bits and its enum http_method bits.
 */
struct metrics_path {
	const char	*path;
	unsigned	 apis;
	unsigned	 methods;
};

/* Writer: each returns at once while metrics are off. */
int	 metrics_open(const char *, const char *, const struct metrics_path *,
	    size_t, int, char *, size_t);
void	 metrics_begin(void);
void	 metrics_route(size_t, unsigned, unsigned);
void	 metrics_end(int);
void	 metrics_close(void);
void	 metrics_count(enum metrics_event);
void	 metrics_refused(enum ratelimit_id);
void	 metrics_front_refused(enum metrics_front);

/* Reader: one program's figures, summed over its workers' rows. */
/* A route (name) served for one method: "v2/terms" "POST". */
struct metrics_route_sum {
	char		 name[METRICS_NAME];
	char		 method[METRICS_METHOD];	/* "any" for "other" */
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
	char		 method[METRICS_METHOD];	/* its method */
	uint64_t	 duration_us;		/* so far, else the last's */
	uint64_t	 idle_us;		/* idle: for how long */
};

struct metrics_program {
	char				 name[METRICS_NAME];
	size_t				 nroutes;
	struct metrics_route_sum	 routes[MAX_METRICS_ROUTES];
	size_t				 nworkers;	/* alive */
	struct metrics_worker_view	 workers[MAX_METRICS_WORKERS];
	uint64_t			 events[METRICS_EVENTS];
	uint64_t			 refused[METRICS_LIMITS];
	uint64_t			 front[METRICS_FRONT__MAX];
};

int	 metrics_read(const char *, struct metrics_program **, size_t *,
	    char *, size_t);
int	 metrics_read_program(const char *, const char *,
	    struct metrics_program *);

/*
 * sigil-notify's figures: <metrics_dir>/notify.onbind, a file of its
 * own, refreshed by the daemon every few seconds and by each --once run.
 */
int	 metrics_notify_open(const char *, char *, size_t);
void	 metrics_notify_outbox(int64_t, int64_t);
void	 metrics_notify_delivery(int);
void	 metrics_notify_close(void);

struct metrics_notify {
	pid_t		 pid;		/* the last writer */
	int		 alive;		/* and it is still running */
	int64_t		 refreshed;	/* Unix time of the last refresh, s */
	int64_t		 rows;		/* in onbind_outbox */
	int64_t		 oldest_due_ms;	/* since the oldest due row fell due */
	uint64_t	 done, failed;	/* deliveries */
	uint64_t	 events[METRICS_EVENTS];
};

int	 metrics_notify_read(const char *, struct metrics_notify *);

#endif /* !SIGIL_METRICS_H */
