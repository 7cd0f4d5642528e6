/*
 * Rate limits kept in PostgreSQL (sliding windows,
 * sql/009_sliding_rate_limits.sql), so that every worker on every host
 * counts against the same limit.  A limit is a struct cfg_rate: count
 * units per seconds, or off when count is 0.  ratelimit_take() is the
 * whole of it; the lease functions are for a caller that asks the limit
 * inside a query of its own (v2 lookups).
 */
#ifndef SIGIL_RATELIMIT_H
#define SIGIL_RATELIMIT_H

#include <stdint.h>

struct cfg_rate;
struct db;
struct db_rate;
struct resp;

int	 ratelimit_check(struct db *, const char *, const struct cfg_rate *,
	    struct resp *);
int	 ratelimit_take(struct db *, const char *, const struct cfg_rate *,
	    int64_t, struct resp *);
void	 ratelimit_refuse(struct resp *, int64_t);
int	 ratelimit_lease_spend(const char *, int64_t);
int64_t	 ratelimit_want(const struct cfg_rate *, int64_t);
void	 ratelimit_no_leases(void);
void	 ratelimit_lease_keep(const char *, int64_t, const struct db_rate *,
	    int64_t);

#endif /* !SIGIL_RATELIMIT_H */
