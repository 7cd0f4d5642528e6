/*
 * Inside the database modules (common/db*.c) only: the statement table,
 * the connection and how a statement runs.  PGresult never leaves them.
 */
#ifndef SIGIL_DBINT_H
#define SIGIL_DBINT_H

#include <stddef.h>

#include <libpq-fe.h>

struct buf;
struct db_auth_check;
struct db_rate;

enum stmt {
	STMT_SCHEMA_VERSION,
	STMT_EPHEMERAL_KEY_EXISTS,
	STMT_AUTH_LOOKUP,
	STMT_ACCOUNT_REGISTER,
	STMT_TOKEN_DELETE,
	STMT_TERMS_ACCEPT,
	STMT_SESSION_INSERT,
	STMT_SESSION_LOCK,
	STMT_SESSION_LOCK_BY_SID,
	STMT_SESSION_GET,
	STMT_SESSION_DELETE,
	STMT_SESSION_SENT,
	STMT_SESSION_FAILED_ATTEMPT,
	STMT_SESSION_VALIDATED,
	STMT_RATE_TAKE,
	STMT_BIND_INSERT,
	STMT_BINDING_GET,
	STMT_SIGNING_KEY_REF,
	STMT_UNBIND,
	STMT_BINDINGS_ALL,
	STMT_UNBIND_SYNCED,
	STMT_SYNC_LOCK,
	STMT_SYNC_UNLOCK,
	STMT_PEPPER,
	STMT_PEPPER_AUTH,
	STMT_LOOKUP_PAIRS,
	STMT_LOOKUP_PAIRS_PEPPER,
	STMT_LOOKUP_HASHES,
	STMT_LOOKUP_PAIRS_AUTH,
	STMT_LOOKUP_HASHES_AUTH,
	STMT_LOOKUP_HASH_ONE_AUTH,
	STMT_LOOKUP_PAIRS_LIMIT,
	STMT_LOOKUP_HASHES_LIMIT,
	STMT_LOOKUP_HASH_ONE_LIMIT,
	STMT_EPHEMERAL_KEY_INSERT,
	STMT_INVITE_INSERT,
	STMT_INVITE_GET,
	STMT_INVITES_PENDING,
	STMT_OUTBOX_INSERT,
	STMT_INVITES_ATTACH,
	STMT_OUTBOX_NEXT,
	STMT_OUTBOX_NEXT_DUE,
	STMT_OUTBOX_RETRY,
	STMT_OUTBOX_DELETE,
	STMT_INVITES_DELIVERED,
	STMT_INVITES_DELETE_DELIVERED,
	STMT__MAX
};

/* Safe to run again after a reconnect, even when the connection broke
 * after the statement was sent (outside a transaction only). */
#define STMT_READ_ONLY	0x01

struct db_stmt {
	const char	*name;		/* in logs */
	const char	*sql;
	int		 nparams;
	int		 flags;		/* STMT_* */
};

extern const struct db_stmt db_stmts[STMT__MAX];

struct db {
	char	*conninfo;	/* owned */
	int	 listen;	/* LISTEN on DB_ONBIND_CHANNEL at connect */
	char	*app_name;	/* owned; pg_stat_activity's application_name */
	PGconn	*conn;		/* NULL until connected */
	int	 prepared;	/* statements prepared on conn */
	int	 was_ready;	/* a connection was made before */
	int	 closing;	/* the server said FATAL: conn is going */
	int	 tx;		/* inside db_begin() .. commit/rollback */
};

void		 db_disconnect(struct db *db);
PGresult	*db_exec(struct db *db, enum stmt s, const char *const *params,
		    int *conflict);
enum db_res	 db_run(struct db *db, enum stmt st,
		    const char *const *params);
enum db_res	 db_one_row(PGresult *res);
PGresult	*db_exec_authed(struct db *db, enum stmt s,
		    const struct db_auth_check *auth, const char **params);
void		 db_text_array(struct buf *out, const char *const *items,
		    size_t n);
void		 db_rate_answer(const PGresult *res, int col,
		    struct db_rate *rate);

#endif /* !SIGIL_DBINT_H */
