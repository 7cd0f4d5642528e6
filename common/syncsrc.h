/*
 * What sigil-sync's sources have in common: each reads its directory
 * whole and hands every (medium, address, user ID) it finds to the
 * engine (cgi/sync.c) through a sync_emit_fn, as read: the engine puts
 * each address through the one address rule and each user ID through
 * Matrix's rules.  A source's read function is
 *
 *	int <source>_read(const struct cfg *cfg, sync_emit_fn emit,
 *	    void *arg, char *err, size_t errlen);
 *
 * returning 0 when the whole directory was read, or -1 with why in err
 * (then the engine changes nothing).  And the precedence rule that
 * 3pid/bind and sigil-sync share: which addresses the sources are
 * authoritative for (sync_domains).
 */
#ifndef SIGIL_SYNCSRC_H
#define SIGIL_SYNCSRC_H

#include <stddef.h>

struct cfg;

/*
 * One entry of a source: medium ("email", "msisdn"), address and user ID
 * as the source has them (any of them NULL when it had none).  Returns 0
 * to go on; -1 stops the read, which then fails.
 */
typedef int (*sync_emit_fn)(void *arg, const char *medium,
    const char *address, const char *mxid);

int	 syncsrc_authoritative(const struct cfg *, const char *,
	    const char *);
int	 syncsrc_user_refused(const struct cfg *, const char *, const char *);

#endif /* !SIGIL_SYNCSRC_H */
