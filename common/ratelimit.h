/*
 * Rate limits kept in PostgreSQL (fixed windows, sql/003_validation.sql),
 * so that every worker on every host counts against the same limit.
 */
#ifndef SIGIL_RATELIMIT_H
#define SIGIL_RATELIMIT_H

struct cfg_rate;
struct db;
struct resp;

int	 ratelimit_check(struct db *, const char *, const struct cfg_rate *,
	    struct resp *);

#endif /* !SIGIL_RATELIMIT_H */
