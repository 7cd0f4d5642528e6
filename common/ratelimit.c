/*
 * Counting requests against a rate limit, and the Matrix answer when one
 * is over it.
 */
#include <cjson/cJSON.h>

#include "cfg.h"
#include "db.h"
#include "mxerr.h"
#include "ratelimit.h"
#include "resp.h"
#include "util.h"

/*
 * Counts a request against the limit rate under bucket.  Returns 0 when
 * within it (or rate is off), or -1 with the error response set: 429
 * M_LIMIT_EXCEEDED with retry_after_ms, or 503 when the database failed.
 */
int
ratelimit_check(struct db *db, const char *bucket, const struct cfg_rate *rate,
    struct resp *rs)
{
	int64_t	 count, retry;
	cJSON	*extra;

	if (rate->count == 0)
		return 0;
	if (db_rate_hit(db, bucket, rate->seconds * 1000, now_ms(), &count,
	    &retry) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return -1;
	}
	if (count <= rate->count)
		return 0;
	extra = cJSON_CreateObject();
	cJSON_AddNumberToObject(extra, "retry_after_ms", (double)retry);
	resp_err_with(rs, MX_LIMIT_EXCEEDED, extra, "Too many requests; try "
	    "again later");
	return -1;
}
