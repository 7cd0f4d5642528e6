/*
 * What a host's workers share about their outbound calls to homeservers
 * (common/outbound.c), in two small files under metrics_dir:
 *
 * - how many of a program's workers wait on the outside at once: a slot
 *   per call, at most outbound_concurrency (by default half the
 *   program's pool, at least one); a request that finds every slot
 *   taken is refused at once instead of joining the wait;
 * - what a homeserver's discovery and key fetch came to, per server
 *   name, for the whole host: a dead origin costs one timeout per
 *   interval, not one per request and per worker.
 *
 * With metrics_dir unset nothing is shared: every call may go out, and
 * each worker remembers only what it saw itself (common/http.c,
 * common/xmkeys.c).
 */
#ifndef SIGIL_OUTBOUND_H
#define SIGIL_OUTBOUND_H

#include <stdint.h>

#include "bounds.h"

/* What is remembered of a server name. */
enum outbound_memo_kind {
	OUTBOUND_WELL_KNOWN,	/* its .well-known: a delegation or none */
	OUTBOUND_KEY_FETCH,	/* its /_matrix/key/v2/server failed */
	OUTBOUND_MEMO__MAX
};

/* One remembered result. */
struct outbound_memo {
	int64_t	 expires_ms;		/* Unix time, ms */
	int	 failed;		/* the call failed: no answer */
	char	 value[MAX_SERVER_NAME + 1];	/* the delegated name, or "" */
};

int	 outbound_open(const char *, const char *, int64_t);
void	 outbound_close(void);
int	 outbound_enter(void);
void	 outbound_leave(void);
int	 outbound_limit(void);
int	 outbound_recall(enum outbound_memo_kind, const char *,
	    struct outbound_memo *);
void	 outbound_remember(enum outbound_memo_kind, const char *,
	    const struct outbound_memo *);

#endif /* !SIGIL_OUTBOUND_H */
