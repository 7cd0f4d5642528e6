/*
 * Verifying a request a homeserver signed with X-Matrix (server-server
 * API, "Request Authentication"): the homeserver's keys, fetched from its
 * /_matrix/key/v2/server through common/http and cached until their
 * valid_until_ts, and the signature over the request checked with them.
 */
#ifndef SIGIL_XMKEYS_H
#define SIGIL_XMKEYS_H

#include <stdint.h>

#include "http.h"
#include "xmatrix.h"

struct cJSON;

/* Homeserver keys kept, and for how long at most. */
#define XMKEYS_CACHE		64
#define XMKEYS_CACHE_MAX_MS	(24LL * 3600 * 1000)
#define XMKEYS_ORIGINS		64

/* Why X-Matrix credentials did not verify; of several, the worst. */
enum xm_fail {
	XM_NONE,
	XM_KEY,			/* a key could not be had: 502 */
	XM_BUSY,		/* no fetch could be made now: 503 */
	XM_INVALID,		/* malformed, or a bad signature: 403 */
	XM_DESTINATION,		/* one names another server: 403 */
};

/* The signed request to verify; every pointer borrowed. */
struct xmkeys_req {
	const char		*what;		/* log prefix, e.g. "unbind" */
	const char		*authorization;	/* the header value */
	const char		*method;
	const char		*uri;		/* NULL: fails as malformed */
	const char		*server_name;	/* ours, the destination */
	const struct cJSON	*content;
	int64_t			 failure_ttl;	/* s between two fetches */
};

/* Fetches origin's key document into resp (test hook; see below). */
typedef enum http_res (*xmkeys_fetch_fn)(const char *origin,
    struct http_resp *resp);
/* The time now in ms since the epoch (test hook). */
typedef int64_t (*xmkeys_clock_fn)(void);

const char	*xmkeys_verify(const struct xmkeys_req *req,
		    struct xmatrix *creds, enum xm_fail *why);
void		 xmkeys_hooks(xmkeys_fetch_fn fetch, xmkeys_clock_fn clock);
void		 xmkeys_reset(void);

#endif /* !SIGIL_XMKEYS_H */
