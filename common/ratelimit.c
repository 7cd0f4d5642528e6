/*
 * Counting requests against a rate limit, and the Matrix answer when one
 * is over it.  The limits are sliding windows kept in PostgreSQL
 * (sql/009_sliding_rate_limits.sql): every worker on every host counts
 * against the same limit, and no span of the window's length ever takes
 * more than the limit, wherever the span starts.
 *
 * Writing the shared row on every request would make a busy limit (the
 * lookups) cost a write per lookup.  So a limit of at least
 * LEASE_FRACTION units asks for a thousandth of itself more than a
 * request needs: the rest is this worker's lease, spent on the next
 * requests of the same bucket without asking PostgreSQL, until the slot
 * it was taken in ends (the leased units count from when they were
 * taken, so the window's rule holds for what is spent).  A lease left
 * unspent when its slot ends is lost: at most a thousandth of the limit
 * per worker and slot.  Smaller limits are asked for exactly what each
 * request needs, and so is every limit in a process that serves one
 * request (CGI), and every ratelimit_check() (the mail limits, taken
 * inside the transaction of a session, which may roll back).  The
 * leases live in this process, in a small table; a bucket that does not
 * fit (or is too long) is asked about every time.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "db.h"
#include "metrics.h"
#include "mxerr.h"
#include "ratelimit.h"
#include "resp.h"
#include "util.h"

#define LEASE_FRACTION	1000	/* a lease is limit / LEASE_FRACTION */
#define LEASES		64	/* buckets with a lease, per process */
#define LEASE_KEY_MAX	320	/* longest bucket kept, NUL included */

/* What this worker may still take from a bucket without asking. */
struct lease {
	char	 key[LEASE_KEY_MAX];	/* the bucket; "" when unused */
	int64_t	 left;			/* units */
	int64_t	 until;			/* ms (now_ms()) when it lapses */
};

static struct lease	 leases[LEASES];
static size_t		 lease_next;	/* the next one to give up */
static int		 lease_none;	/* one request per process */

/*
 * For a process that serves one request (plain CGI): no leases, which it
 * could never spend.
 */
void
ratelimit_no_leases(void)
{
	lease_none = 1;
}

/*
 * Sets rs to 429 M_LIMIT_EXCEEDED with retry_after_ms (at least 1).
 */
void
ratelimit_refuse(struct resp *rs, int64_t retry_after_ms)
{
	cJSON	*extra;

	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "retry_after_ms",
	    (double)(retry_after_ms < 1 ? 1 : retry_after_ms));
	resp_err_with(rs, MX_LIMIT_EXCEEDED, extra, "Too many requests; try "
	    "again later");
}

/* The lease of key, or NULL. */
static struct lease *
lease_find(const char *key)
{
	size_t	 i;

	for (i = 0; i < LEASES; i++)
		if (leases[i].key[0] != '\0' && strcmp(leases[i].key, key) == 0)
			return &leases[i];
	return NULL;
}

/*
 * Spends cost units of this worker's lease on key, if it holds enough
 * that has not lapsed.  Returns 1 when it did (the request is taken),
 * else 0.
 */
int
ratelimit_lease_spend(const char *key, int64_t cost)
{
	struct lease	*l;

	if ((l = lease_find(key)) == NULL || l->left < cost ||
	    l->until <= now_ms())
		return 0;
	l->left -= cost;
	return 1;
}

/*
 * What a request of cost units asks the limit rate for: cost, and a
 * lease when the limit is large enough to lend one.
 */
int64_t
ratelimit_want(const struct cfg_rate *rate, int64_t cost)
{
	return lease_none ? cost : cost + rate->count / LEASE_FRACTION;
}

/*
 * Keeps what the answer a granted beyond cost as this worker's lease on
 * key, until the slot it came from ends (lease_ms after asked, the
 * now_ms() before asking).  A lease key held before is replaced.
 */
void
ratelimit_lease_keep(const char *key, int64_t cost, const struct db_rate *a,
    int64_t asked)
{
	struct lease	*l;

	if (a->granted <= cost || strlen(key) >= LEASE_KEY_MAX)
		return;
	if ((l = lease_find(key)) == NULL) {
		l = &leases[lease_next];
		lease_next = (lease_next + 1) % LEASES;
	}
	memcpy(l->key, key, strlen(key) + 1);
	l->left = a->granted - cost;
	l->until = asked + a->lease_ms;
}

/*
 * Takes cost units from the limit rate under bucket, with a lease when
 * lend is set and the limit lends one.  As ratelimit_take().
 */
static int
take(struct db *db, const char *bucket, const struct cfg_rate *rate,
    int64_t cost, int lend, struct resp *rs)
{
	struct db_rate	 a = { rate->seconds * 1000, rate->count, cost, cost,
			    0, 0, 0 };
	int64_t		 asked;

	if (rate->count == 0 || cost <= 0 ||
	    (lend && ratelimit_lease_spend(bucket, cost)))
		return 0;
	if (lend)
		a.want = ratelimit_want(rate, cost);
	asked = now_ms();
	if (db_rate_take(db, bucket, &a) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return -1;
	}
	if (a.granted == 0) {
		metrics_refused(rate->limit);
		ratelimit_refuse(rs, a.retry_after_ms);
		return -1;
	}
	if (lend)
		ratelimit_lease_keep(bucket, cost, &a, asked);
	return 0;
}

/*
 * Takes cost units from the limit rate under bucket, outside any
 * transaction (a lease must not outlive a rollback of what it took).
 * Returns 0 when they were within it (or rate is off), or -1 with the
 * error response set: 429 M_LIMIT_EXCEEDED with retry_after_ms, or 503
 * when the database failed.  A refused request takes nothing.  A cost
 * over rate->count is always refused: callers bound their costs below it.
 */
int
ratelimit_take(struct db *db, const char *bucket, const struct cfg_rate *rate,
    int64_t cost, struct resp *rs)
{
	return take(db, bucket, rate, cost, 1, rs);
}

/*
 * Takes one request from the limit rate under bucket, exactly (no lease),
 * so that it may run inside a transaction.  As ratelimit_take().
 */
int
ratelimit_check(struct db *db, const char *bucket, const struct cfg_rate *rate,
    struct resp *rs)
{
	return take(db, bucket, rate, 1, 0, rs);
}
