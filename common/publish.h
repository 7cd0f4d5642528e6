/*
 * Publishing a binding the way a validated bind does, for every path that
 * makes one (3pid/bind, the operator's internal bind, sigil-sync): sign
 * the association, record it with its signature, and queue its onbind
 * with the 3PID's pending invites, all in one transaction.
 */
#ifndef SIGIL_PUBLISH_H
#define SIGIL_PUBLISH_H

#include <stdint.h>

struct cJSON;
struct ctx;

/*
 * Binds (medium, address), already canonical, to mxid, a valid user ID,
 * at now (ms).  Needs c->db and c->key.  On success returns 0 and, when
 * assoc is not NULL, stores there the signed association (caller frees
 * with cJSON_Delete).  Returns -1 when nothing was recorded or queued
 * (a database or signing failure, already logged).
 */
int	 binding_publish(struct ctx *c, const char *medium,
	    const char *address, const char *mxid, int64_t now,
	    struct cJSON **assoc);

#endif /* !SIGIL_PUBLISH_H */
