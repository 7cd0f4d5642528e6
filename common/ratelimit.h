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

/*
 * The configuration's limits: key ratelimit_<name>, and the label their
 * refusals are counted under (metrics).
 */
enum ratelimit_id {
	RATELIMIT_ADDRESS,		/* mails per address */
	RATELIMIT_REQUESTER,		/* per client IP (v1) or user */
	RATELIMIT_MSISDN,		/* texts per number */
	RATELIMIT_COUNTRY,		/* texts per region */
	RATELIMIT_LOOKUP_IP,		/* v1 addresses per client IP */
	RATELIMIT_LOOKUP_USER,		/* v2 addresses per user */
	RATELIMIT_INVITE_SENDER,	/* invites per sender */
	RATELIMIT_INVITE_ADDRESS,	/* per recipient address */
	RATELIMIT_INVITE_CLIENT,	/* per client IP address */
	RATELIMIT_INVITE_ROOM,		/* per room */
	RATELIMIT_INVITE_USER,		/* per v2 token's user */
	RATELIMIT__MAX
};

extern const char *const ratelimit_name[RATELIMIT__MAX];

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
