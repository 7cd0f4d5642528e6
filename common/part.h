/*
 * The optional parts of a program: modules that bring a library or a
 * secret into the process (libpq, libcurl, SMTP, the signing key), linked
 * only into the programs whose table names the part (struct app_needs in
 * common/app.h names the part's functions, and so links them).  Each
 * such module also says, when the process starts, that it is linked
 * (PART_LINKED), so that start-up refuses a program whose code uses a
 * part its table does not name: the two directions of one statement.
 */
#ifndef SIGIL_PART_H
#define SIGIL_PART_H

enum part {
	PART_DB,	/* common/db.c: PostgreSQL */
	PART_HTTP,	/* common/http.c: outbound HTTPS */
	PART_MAIL,	/* common/mail.c: SMTP */
	PART_KEY,	/* common/sign.c: the signing key */
	PARTS
};

extern const char *const part_name[PARTS];	/* "database", ... */

void	 part_linked(enum part);
unsigned parts_linked(void);			/* 1U << part bits */

/* In a part's module, once: marks the part linked before main(). */
#define PART_LINKED(p)							\
	static void part_linked_here(void) __attribute__((constructor)); \
	static void part_linked_here(void) { part_linked(p); }

#endif /* !SIGIL_PART_H */
