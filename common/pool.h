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
#include <time.h>

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

/*
 * What the supervisor decides for one pool at one tick, from its figures
 * alone (pool_plan(): no clock read, no process touched), so that the
 * policy can be tested on its own.
 */
#define POOL_MAX_SLOTS	256	/* workers of one pool */
#define POOL_GROW_STEP	8	/* workers started at most per tick */

/* What a worker slot holds now. */
enum pool_slot_state {
	POOL_SLOT_EMPTY,		/* nothing; free to start one */
	POOL_SLOT_RESTARTING,		/* its worker ended; starts again */
	POOL_SLOT_RUNNING,
	POOL_SLOT_STOPPING_IDLE,	/* asked to stop; its slot is freed */
	POOL_SLOT_STOPPING_RECYCLE,	/* asked to stop; another follows */
};

struct pool_slot {
	enum pool_slot_state state;
	time_t		 started;	/* RUNNING: when, on the clock of now */
	int		 has_row;	/* its metrics row was found: */
	int		 busy;		/* serving a request */
	uint64_t	 idle_us;	/* idle for so long */
	uint64_t	 served;	/* requests served in its life */
};

struct pool_settings {
	int		 min, max;	/* equal: a static pool */
	int		 idle;		/* seconds before an idle one stops */
	uint64_t	 max_requests;	/* 0: never recycled */
};

/* The decision's inputs. */
struct pool_state {
	const struct pool_slot *slots;	/* settings.max of them */
	int		 queue_known;	/* 0: the kernel does not tell */
	uint64_t	 queue;		/* connections waiting, when known */
	time_t		 now;		/* seconds, the clock of started */
};

enum pool_action {
	POOL_KEEP,
	POOL_START,		/* an EMPTY slot: start a worker there */
	POOL_STOP_IDLE,		/* idle past the timeout: stop it */
	POOL_RECYCLE,		/* past max_requests: replace it */
};

struct pool_plan {
	enum pool_action act[POOL_MAX_SLOTS];	/* one per slot */
	uint64_t	 queue;		/* taken as waiting: the queue, or
					 * without it 1 when all are busy */
	int		 running;	/* workers counted (rows or young) */
	int		 busy;		/* of them, serving */
	int		 total;		/* occupied slots, before the plan */
	int		 grow;		/* workers to start; 0: none */
	int		 saturated;	/* at max, all busy, a queue */
};

void	 pool_plan(const struct pool_settings *, const struct pool_state *,
	    struct pool_plan *);

#endif /* !SIGIL_POOL_H */
