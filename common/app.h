/*
 * What one sigil program is: its name, what it needs at start, and its
 * route table; and the context its handlers receive.  The dispatcher here
 * owns 404 and 405 (M_UNRECOGNIZED), OPTIONS pre-flight and the query
 * string, so a handler starts with a request already routed.
 */
#ifndef SIGIL_APP_H
#define SIGIL_APP_H

#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "db.h"
#include "terms.h"
#include "tmpl.h"

struct app;
struct db;
struct req;
struct resp;
struct sign_key;

/* Process-lifetime state, built before the first request. */
struct ctx {
	const struct app *app;		/* the program's, borrowed */
	struct cfg	 cfg;
	struct sign_key	*key;		/* the key that signs, or NULL */
	int		 key_ref;	/* its signing_keys.id; see app_key_ref */
	struct db	*db;		/* NULL for programs without one */
	struct db	*db_read;	/* lookups: the replica, or db itself */
	struct terms	 terms;		/* what v2 users must agree to */
	struct tmpl_set	 templates;	/* APP_MAIL_*: loaded at start */
};

typedef void	(*handler_fn)(struct ctx *, const struct req *, struct resp *);

/*
 * Who may call a route on v2 (v1 has no authentication): anyone, a user
 * with a token who agreed to the terms, or a user with a token who need
 * not have (POST terms and logout).  The dispatcher enforces it and puts
 * the user in req.user_id.
 */
enum route_auth {
	AUTH_NONE,
	AUTH_USER,
	AUTH_USER_ANY_TERMS,
	/* AUTH_USER, asked by the handler inside its own query (one round
	 * trip instead of two): the dispatcher only hashes the token into
	 * req.token_hash, and the handler asks app_gate_question() in its
	 * query and must pass the answer to app_gate_decide() unless
	 * req.gate_passed is already set. */
	AUTH_USER_IN_HANDLER,
};

/*
 * A bit of route.apis besides the enum api ones: the route stays served
 * on v1 when enable_v1 is false (sign-ed25519, which every invite mail
 * links to on v1 and which its private key alone guards).
 */
#define API_V1_ALWAYS	0x100

struct route {
	unsigned	 methods;	/* enum http_method bits */
	unsigned	 apis;		/* enum api bits, API_V1_ALWAYS */
	const char	*path;		/* after the API prefix; "x/ *" = 1 segment */
	handler_fn	 handler;
	enum route_auth	 auth;		/* on v2 */
};

/*
 * What a program needs besides the shared code, stated once, in its
 * struct app: each optional part (common/part.h) by the table of its
 * functions, defined in common/part_<name>.c.  Naming a part links its
 * code, and the shared code (app.c, fcgi.c) reaches a part only through
 * its table, so a program links nothing it does not name; a part linked
 * but not named (the program's own code uses it) stops the program at
 * start, as does an option without its part.
 */
struct app_db_part {			/* PART_DB: PostgreSQL, the gate */
	struct db	*(*open)(const char *, const char *);
	enum db_ready_res (*ready)(struct db *);
	void		 (*listen)(struct db *);
	void		 (*end_request)(struct db *);
	void		 (*close)(struct db *);
	void		 (*one_request)(void);	/* CGI: one per process */
	enum db_res	 (*auth_lookup)(struct db *, const char *,
			    const char *const *, size_t, int64_t, char **,
			    int64_t *);
	enum db_res	 (*signing_key_ref)(struct db *, const char *,
			    const char *, int64_t, int *);
	void		 (*sha256_hex)(const void *, size_t, char *);
	enum db_ready_res (*check)(struct db *, long *);
	int		 (*secrets_check)(const char *, char *, size_t);
};

struct app_http_part {			/* PART_HTTP: HTTPS to homeservers */
	int		 (*init)(const struct cfg *, const char *);
	void		 (*free)(void);
	void		 (*budget_begin)(void);	/* per request */
	int		 (*check)(const char *, char *, size_t); /* -t: the
						   URL's server reachable */
};

struct app_mail_part {			/* PART_MAIL: SMTP, the templates */
	int		 (*init)(const struct cfg *);
	void		 (*free)(void);
	int		 (*header_safe)(const char *);
	int		 (*check)(char *, size_t);	/* -t: SMTP reachable */
};

struct app_key_part {			/* PART_KEY: the signing key */
	int		 (*load)(const char *, const char *,
			    struct sign_key **, char *, size_t);
	void		 (*free)(struct sign_key *);
};

extern const struct app_db_part		app_db;
extern const struct app_http_part	app_http;
extern const struct app_mail_part	app_mail;
extern const struct app_key_part	app_key;

/* Options of the database part (app_needs.db_use): */
#define APP_READ_REPLICA 0x01	/* reads may go to database_replica */
#define APP_LISTEN	0x02	/* LISTEN for queued onbind deliveries */
/* The templates of the mail part (app_needs.templates), loaded and
 * checked at start (no others are read): */
#define APP_MAIL_VERIFY	0x01	/* verification mail and page; the text
				 * too when an SMS gateway is set */
#define APP_MAIL_INVITE	0x02	/* invite mail, invite_subject(_space) */

struct app_needs {
	const struct app_db_part	*db;	/* NULL: not needed */
	unsigned			 db_use; /* APP_READ_REPLICA... */
	const struct app_http_part	*http;
	const struct app_mail_part	*mail;
	unsigned			 templates; /* APP_MAIL_* */
	const struct app_key_part	*key;	/* starts with c->key */
};

struct app {
	const char		*name;		/* e.g. "sigil-pubkey" */
	const struct route	*routes;
	size_t			 nroutes;
	struct app_needs	 needs;
};

int	 app_print_routes(const struct app *, FILE *);
void	 app_dispatch(const struct app *, struct ctx *, struct req *,
	    struct resp *);
struct db_auth_check
	 app_gate_question(const struct ctx *, const struct req *);
int	 app_gate_decide(const struct ctx *, enum route_auth, enum db_res,
	    int64_t, struct resp *);
int	 app_gate_refused_input(const struct ctx *, const struct req *,
	    struct resp *);
int	 app_needs_check(const struct app *);
int	 app_key_ref(struct ctx *);
int	 app_ctx_init(const struct app *, int, char *const *, struct ctx *);
int	 app_ctx_config(const struct app *, int, char *const *, struct ctx *);
int	 app_ctx_start(struct ctx *);
void	 app_ctx_free(struct ctx *);
int	 app_check(const struct app *, struct ctx *, const char *);
int	 app_metrics_open(const struct app *, const char *, int, char *,
	    size_t);

#endif /* !SIGIL_APP_H */
