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
#define SIGIL_SCHEMA_VERSION	2

struct db;

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

struct db	*db_open(const char *);
enum db_ready_res db_ready(struct db *);
void		 db_end_request(struct db *);
void		 db_close(struct db *);

enum db_res	 db_ephemeral_key_exists(struct db *, const char *);
enum db_res	 db_auth_lookup(struct db *, const char *, const char *const *,
		    size_t, int64_t, char **, int64_t *);
enum db_res	 db_account_register(struct db *, const char *, const char *,
		    int64_t, int64_t);
enum db_res	 db_token_delete(struct db *, const char *);
enum db_res	 db_terms_accept(struct db *, const char *, const char *const *,
		    const char *const *, size_t, int64_t);

#endif /* !SIGIL_DB_H */
