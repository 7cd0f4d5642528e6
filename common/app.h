/*
 * What one sigil program is: its name, what it needs at start, and its
 * route table; and the context its handlers receive.  The dispatcher here
 * owns 404 and 405 (M_UNRECOGNIZED), OPTIONS pre-flight and the query
 * string, so a handler starts with a request already routed.
 */
#ifndef SIGIL_APP_H
#define SIGIL_APP_H

#include "cfg.h"

struct db;
struct req;
struct resp;
struct sign_key;

/* Process-lifetime state, built before the first request. */
struct ctx {
	struct cfg	 cfg;
	struct sign_key	*key;		/* the key that signs; owned */
	struct db	*db;		/* NULL for programs without one */
};

typedef void	(*handler_fn)(struct ctx *, const struct req *, struct resp *);

struct route {
	unsigned	 methods;	/* enum http_method bits */
	unsigned	 apis;		/* enum api bits */
	const char	*path;		/* after the API prefix; "x/ *" = 1 segment */
	handler_fn	 handler;
};

#define APP_NEEDS_DB	0x01

struct app {
	const char		*name;		/* e.g. "sigil-pubkey" */
	int			 flags;		/* APP_* */
	const struct route	*routes;
	size_t			 nroutes;
};

void	 app_dispatch(const struct app *, struct ctx *, struct req *,
	    struct resp *);
int	 app_ctx_init(const struct app *, int, char *const *, struct ctx *);
void	 app_ctx_free(struct ctx *);

#endif /* !SIGIL_APP_H */
