/*
 * Third-party identifiers: the canonical form of an address for its
 * medium (one function for bind, lookups, unbind and invites), and the
 * association object bind and lookup sign.
 */
#ifndef SIGIL_THREEPID_H
#define SIGIL_THREEPID_H

#include <stddef.h>
#include <stdint.h>

#include "email.h"

struct cJSON;

/* Room for any canonical address (folding can grow an email address). */
#define THREEPID_MAX_ADDRESS	(3 * MAX_EMAIL + 1)

/* 100 years, in ms: how long a binding's association says it holds. */
#define THREEPID_VALIDITY_MS	(100LL * 365 * 24 * 3600 * 1000)

int	 threepid_canonical(const char *, const char *, char *, size_t);
struct cJSON *threepid_association(const char *, const char *, const char *,
	    int64_t, int64_t, int64_t);

#endif /* !SIGIL_THREEPID_H */
