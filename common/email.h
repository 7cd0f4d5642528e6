/*
 * Email addresses: what sigil accepts as one, and the canonical form it
 * stores, compares, hashes and mails (spec appendix "3PID Types": the
 * domain lower-cased and the whole address Unicode case-folded).  The one
 * function every comparison of addresses goes through.
 */
#ifndef SIGIL_EMAIL_H
#define SIGIL_EMAIL_H

#include <stddef.h>

/* RFC 5321's limit on a path, which a mailbox must fit in. */
#define MAX_EMAIL		254

int	 email_canonical(const char *, char *, size_t);
char	*utf8_casefold(const char *);

#endif /* !SIGIL_EMAIL_H */
