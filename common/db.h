/*
 * The database: one PostgreSQL connection per worker, every statement
 * prepared once per connection, typed functions per use.  PGresult never
 * leaves db.c; the only file that includes <libpq-fe.h>.
 */
#ifndef SIGIL_DB_H
#define SIGIL_DB_H

#include <stddef.h>
#include <stdint.h>

/* The schema this build expects: the number of the newest sql/ file. */
#define SIGIL_SCHEMA_VERSION	10

/* The channel bind NOTIFYs and sigil-notify LISTENs on. */
#define DB_ONBIND_CHANNEL	"sigil_onbind"

struct db;

/* A validation session as stored (see sql/003_validation.sql). */
struct db_session {
	char	 sid[64];
	char	 medium[16];
	char	*address;		/* owned; db_session_clear() */
	char	 client_secret_hash[65];
	char	*token;			/* owned */
	char	*next_link;		/* owned; NULL when none */
	int64_t	 send_attempt;
	int64_t	 failed_attempts;
	int64_t	 created_ts;
	int64_t	 modified_ts;
	int64_t	 validated_ts;		/* 0 until validated */
};

enum db_res {
	DB_OK,
	DB_NOTFOUND,
	DB_CONFLICT,		/* unique violation */
	DB_ERROR,		/* logged in db.c; answer 5xx */
};

enum db_ready_res {
	DB_READY,
	DB_DOWN,		/* cannot connect now; try again later */
	DB_SCHEMA_MISMATCH,	/* wrong schema version: must not serve */
};

struct db	*db_open(const char *, const char *);
enum db_ready_res db_ready(struct db *);
void	 db_one_shot(void);
void		 db_end_request(struct db *);
void		 db_close(struct db *);

enum db_res	 db_ephemeral_key_exists(struct db *, const char *, int64_t);
enum db_res	 db_auth_lookup(struct db *, const char *, const char *const *,
		    size_t, int64_t, char **, int64_t *);
enum db_res	 db_account_register(struct db *, const char *, const char *,
		    int64_t, int64_t);
enum db_res	 db_token_delete(struct db *, const char *);
/* Lookup results: which of the n addresses asked (1-based index into the
 * request's list) are bound, and to whom; and the current pepper. */
struct db_matches {
	size_t	  n;
	int64_t	 *index;
	char	**mxid;
	char	 *pepper;	/* NULL for lookups without one */
};

/* A stored binding. */
struct db_binding {
	char	*mxid;
	int64_t	 ts;
	int64_t	 not_before;
	int64_t	 not_after;
	char	*signature;	/* as bind stored it; "" when none */
	int	 signed_by;	/* signing_keys.id of its key; 0 when none */
};

enum db_res	 db_bind(struct db *, const char *, const char *, const char *,
		    int64_t, int64_t, const char *, int);
enum db_res	 db_signing_key_ref(struct db *, const char *, const char *,
		    int64_t, int *);
enum db_res	 db_unbind(struct db *, const char *, const char *,
		    const char *);
enum db_res	 db_binding_get(struct db *, const char *, const char *,
		    struct db_binding *);
void		 db_binding_clear(struct db_binding *);
enum db_res	 db_pepper(struct db *, char **);
enum db_res	 db_lookup_pairs(struct db *, const char *const *,
		    const char *const *, size_t, const char *,
		    struct db_matches *);
enum db_res	 db_lookup_hashes(struct db *, const char *const *, size_t,
		    const char *, struct db_matches *);
void		 db_matches_clear(struct db_matches *);

/* The v2 gate's question, asked inside another statement. */
struct db_auth_check {
	const char		 *token_hash;
	const char *const	 *policy_keys;	/* the current ones */
	size_t			  npolicies;
	int64_t			  now;
	char			 *user_id;	/* out; caller frees */
	int64_t			  agreed;	/* out */
};

/*
 * Taking from a sliding-window limit (sql/009): cost units of limit (0:
 * none) per window_ms, asking for want (at least cost; the rest is a
 * lease, see common/ratelimit.c).  The answer: granted units (0: refused,
 * -1: the limit was not asked), retry_after_ms when refused, and lease_ms
 * until the current slot ends.
 */
struct db_rate {
	int64_t		  window_ms;
	int64_t		  limit;
	int64_t		  cost;
	int64_t		  want;
	int64_t		  granted;		/* out */
	int64_t		  retry_after_ms;	/* out */
	int64_t		  lease_ms;		/* out */
};

enum db_res	 db_lookup_authed(struct db *, struct db_auth_check *,
		    struct db_rate *, const char *const *, const char *const *,
		    size_t, const char *, struct db_matches *);
enum db_res	 db_pepper_authed(struct db *, struct db_auth_check *, char **);
enum db_res	 db_begin(struct db *);
enum db_res	 db_commit(struct db *);
void		 db_rollback(struct db *);
enum db_res	 db_session_lock(struct db *, const char *, const char *,
		    const char *, struct db_session *);
enum db_res	 db_session_lock_by_sid(struct db *, const char *,
		    struct db_session *);
enum db_res	 db_session_insert(struct db *, const struct db_session *);
enum db_res	 db_session_delete(struct db *, const char *);
enum db_res	 db_session_sent(struct db *, const char *, int64_t);
enum db_res	 db_session_failed_attempt(struct db *, const char *);
enum db_res	 db_session_validated(struct db *, const char *, int64_t);
enum db_res	 db_session_get(struct db *, const char *,
		    struct db_session *);
void		 db_session_clear(struct db_session *);
enum db_res	 db_rate_take(struct db *, const char *, struct db_rate *);
enum db_res	 db_terms_accept(struct db *, const char *, const char *const *,
		    const char *const *, size_t, int64_t);

/* An invite as store-invite records it (see sql/005_invites.sql). */
struct db_invite {
	const char	*token;
	const char	*medium;
	const char	*address;		/* canonical */
	const char	*room_id;
	const char	*sender;
	const char	*ephemeral_public_key;
	int64_t		 created_ts;
	int64_t		 expires_ts;
};

/* The pending invites of one 3PID: n rows, each column an array. */
struct db_invites {
	size_t	  n;
	char	**token;
	char	**room_id;
	char	**sender;
};

/* One queued onbind delivery. */
struct db_outbox {
	int64_t	 id;
	char	*destination;		/* owned */
	char	*body;			/* owned */
	int64_t	 attempts;
};

enum db_res	 db_invite_insert(struct db *, const struct db_invite *);
enum db_res	 db_invite_get(struct db *, const char *, int64_t, char **,
		    char **);
enum db_res	 db_invites_pending(struct db *, const char *, const char *,
		    int64_t, struct db_invites *);
void		 db_invites_clear(struct db_invites *);
enum db_res	 db_outbox_queue(struct db *, const char *, const char *,
		    int64_t, const char *const *, size_t);
void		 db_listen(struct db *);
int		 db_wait(struct db *, int, int);
enum db_res	 db_outbox_next(struct db *, int64_t, struct db_outbox *);
void		 db_outbox_clear(struct db_outbox *);
enum db_res	 db_outbox_next_due(struct db *, int64_t *, int64_t *);
enum db_res	 db_outbox_retry(struct db *, int64_t, int64_t, const char *);
enum db_res	 db_outbox_done(struct db *, int64_t, int64_t, int);

#endif /* !SIGIL_DB_H */
