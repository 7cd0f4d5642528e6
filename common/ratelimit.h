/*
 * Rate limits kept in PostgreSQL (sliding windows,
 * sql/009_sliding_rate_limits.sql), so that every worker on every host
 * counts against the same limit.  A limit is a struct cfg_rate: count
 * units per seconds, or off when count is 0.
 */
#ifndef SIGIL_RATELIMIT_H
#define SIGIL_RATELIMIT_H

#include <stdint.h>

struct cfg_rate;
struct db;
struct resp;

int	 ratelimit_check(struct db *, const char *, const struct cfg_rate *,
	    struct resp *);
int	 ratelimit_take(struct db *, const char *, const struct cfg_rate *,
	    int64_t, struct resp *);
void	 ratelimit_refuse(struct resp *, int64_t);

#endif /* !SIGIL_RATELIMIT_H */
