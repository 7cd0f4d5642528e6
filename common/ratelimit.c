/*
 * Counting requests against a rate limit, and the Matrix answer when one
 * is over it.  The limits are sliding windows kept in PostgreSQL
 * (sql/009_sliding_rate_limits.sql): every worker on every host counts
 * against the same limit, and no span of the window's length ever takes
 * more than the limit, wherever the span starts.
 */
#include <cjson/cJSON.h>

#include "cfg.h"
#include "db.h"
#include "mxerr.h"
#include "ratelimit.h"
#include "resp.h"
#include "util.h"

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

/*
 * Takes cost units from the limit rate under bucket.  Returns 0 when they
 * were within it (or rate is off), or -1 with the error response set: 429
 * M_LIMIT_EXCEEDED with retry_after_ms, or 503 when the database failed.
 * A refused request takes nothing.  A cost over rate->count is always
 * refused: callers bound their costs below it.
 */
int
ratelimit_take(struct db *db, const char *bucket, const struct cfg_rate *rate,
    int64_t cost, struct resp *rs)
{
	int64_t	 retry;
	int	 taken;

	if (rate->count == 0)
		return 0;
	if (db_rate_take(db, bucket, rate->seconds * 1000, rate->count, cost,
	    &taken, &retry) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return -1;
	}
	if (taken)
		return 0;
	ratelimit_refuse(rs, retry);
	return -1;
}

/* ratelimit_take() of one request. */
int
ratelimit_check(struct db *db, const char *bucket, const struct cfg_rate *rate,
    struct resp *rs)
{
	return ratelimit_take(db, bucket, rate, 1, rs);
}
