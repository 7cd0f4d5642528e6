/*
 * The database: one PostgreSQL connection per worker, every statement
 * prepared once per connection, typed functions per use, in files by
 * concern: common/db.c (connection, transactions, how a statement runs),
 * dbstmt.c (all SQL, each statement named), dbaccount.c (accounts,
 * tokens, terms, rate limits), dbsession.c (validation sessions),
 * dbbind.c (bindings, lookups), dbinvite.c (invites, the onbind outbox).
 * PGresult never leaves them; only they include <libpq-fe.h> (dbint.h).
 */
#ifndef SIGIL_DB_H
#define SIGIL_DB_H

#include <stddef.h>
#include <stdint.h>

/* The schema this build expects: the number of the newest sql/ file. */
#define SIGIL_SCHEMA_VERSION	11

/* The channel bind NOTIFYs and sigil-notify LISTENs on. */
#define DB_ONBIND_CHANNEL	"sigil_onbind"

struct db;

/* The connection, transactions (common/db.c). */

enum db_res {
	DB_OK,
	DB_NOTFOUND,
	DB_CONFLICT,		/* unique violation */
	DB_ERROR,		/* logged; answer 5xx */
};

enum db_ready_res {
	DB_READY,
	DB_DOWN,		/* cannot connect now; try again later */
	DB_SCHEMA_MISMATCH,	/* wrong schema version: must not serve */
};

struct db	*db_open(const char *conninfo, const char *app_name);
int		 db_secrets_check(const char *conninfo, char *err,
		    size_t errlen);
enum db_ready_res db_ready(struct db *db);
enum db_ready_res db_check(struct db *db, long *version);
void		 db_one_shot(void);
void		 db_end_request(struct db *db);
void		 db_close(struct db *db);
enum db_res	 db_begin(struct db *db);
enum db_res	 db_commit(struct db *db);
void		 db_rollback(struct db *db);
void		 db_listen(struct db *db);
int		 db_wait(struct db *db, int timeout_ms, int wake_fd);

/* Accounts, their tokens, the v2 gate, terms (common/dbaccount.c). */

/* The v2 gate's question, asked inside another statement. */
struct db_auth_check {
	const char		 *token_hash;
	const char *const	 *policy_keys;	/* the current ones */
	size_t			  npolicies;
	int64_t			  now;
	char			 *user_id;	/* out; caller frees */
	int64_t			  agreed;	/* out */
};

enum db_res	 db_auth_lookup(struct db *db, const char *token_hash,
		    const char *const *policy_keys, size_t npolicies,
		    int64_t now, char **user_id, int64_t *agreed);
enum db_res	 db_account_register(struct db *db, const char *token_hash,
		    const char *user_id, int64_t now, int64_t expires);
enum db_res	 db_token_delete(struct db *db, const char *token_hash);
enum db_res	 db_terms_accept(struct db *db, const char *user_id,
		    const char *const *keys, const char *const *urls, size_t n,
		    int64_t now);

/* Rate limits (common/dbaccount.c). */

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

enum db_res	 db_rate_take(struct db *db, const char *bucket,
		    struct db_rate *rate);

/* Validation sessions (common/dbsession.c). */

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

enum db_res	 db_session_insert(struct db *db, const struct db_session *s);
enum db_res	 db_session_lock(struct db *db, const char *medium,
		    const char *address, const char *cs_hash,
		    struct db_session *s);
enum db_res	 db_session_lock_by_sid(struct db *db, const char *sid,
		    struct db_session *s);
enum db_res	 db_session_get(struct db *db, const char *sid,
		    struct db_session *s);
enum db_res	 db_session_delete(struct db *db, const char *sid);
enum db_res	 db_session_sent(struct db *db, const char *sid,
		    int64_t attempt);
enum db_res	 db_session_failed_attempt(struct db *db, const char *sid);
enum db_res	 db_session_validated(struct db *db, const char *sid,
		    int64_t now);
void		 db_session_clear(struct db_session *s);

/* Bindings and lookups (common/dbbind.c). */

/* A stored binding. */
struct db_binding {
	char	*mxid;
	int64_t	 ts;
	int64_t	 not_before;
	int64_t	 not_after;
	char	*signature;	/* as bind stored it; "" when none */
	int	 signed_by;	/* signing_keys.id of its key; 0 when none */
};

/* Lookup results: which of the n addresses asked (1-based index into the
 * request's list) are bound, and to whom; and the current pepper. */
struct db_matches {
	size_t	  n;
	int64_t	 *index;
	char	**mxid;
	char	 *pepper;	/* NULL for lookups without one */
};

enum db_res	 db_bind(struct db *db, const char *medium, const char *address,
		    const char *mxid, int64_t now, int64_t not_after,
		    const char *signature, int signed_by);
enum db_res	 db_signing_key_ref(struct db *db, const char *key_id,
		    const char *public_b64, int64_t now, int *ref);
enum db_res	 db_unbind(struct db *db, const char *medium,
		    const char *address, const char *mxid);
enum db_res	 db_binding_get(struct db *db, const char *medium,
		    const char *address, struct db_binding *b);
void		 db_binding_clear(struct db_binding *b);
enum db_res	 db_pepper(struct db *db, char **pepper);
enum db_res	 db_lookup_pairs(struct db *db, const char *const *media,
		    const char *const *addresses, size_t n, const char *pepper,
		    struct db_matches *m);
enum db_res	 db_lookup_hashes(struct db *db, const char *const *hashes,
		    size_t n, const char *pepper, struct db_matches *m);
enum db_res	 db_lookup_authed(struct db *db, struct db_auth_check *auth,
		    struct db_rate *rate, const char *const *media,
		    const char *const *items, size_t n, const char *pepper,
		    struct db_matches *m);
enum db_res	 db_pepper_authed(struct db *db, struct db_auth_check *auth,
		    char **pepper);
void		 db_matches_clear(struct db_matches *m);

/* Invites and the onbind outbox (common/dbinvite.c). */

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
	char	*last_error;		/* owned; "" before the first failure */
};

enum db_res	 db_ephemeral_key_exists(struct db *db, const char *public_key,
		    int64_t now);
enum db_res	 db_invite_insert(struct db *db, const struct db_invite *inv);
enum db_res	 db_invite_get(struct db *db, const char *token, int64_t now,
		    char **sender, char **ephemeral_public_key);
enum db_res	 db_invites_pending(struct db *db, const char *medium,
		    const char *address, int64_t now, struct db_invites *out);
void		 db_invites_clear(struct db_invites *inv);
enum db_res	 db_outbox_queue(struct db *db, const char *destination,
		    const char *body, int64_t now, const char *const *tokens,
		    size_t n);
enum db_res	 db_outbox_next(struct db *db, int64_t now,
		    struct db_outbox *o);
void		 db_outbox_clear(struct db_outbox *o);
enum db_res	 db_outbox_next_due(struct db *db, int64_t *due,
		    int64_t *queued);
enum db_res	 db_outbox_retry(struct db *db, int64_t id, int64_t next_ts,
		    const char *why);
enum db_res	 db_outbox_done(struct db *db, int64_t id, int64_t now,
		    int delete_invites);

#endif /* !SIGIL_DB_H */
