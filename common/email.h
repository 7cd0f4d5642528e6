/*
 * Email addresses: what sigil accepts as one, and the canonical form it
 * stores, rate-limits, compares, hashes and mails.  The one rule every
 * path that takes an address goes through (requestToken, store-invite,
 * bind, unbind, lookups, the sydent importer through sigil-canon-email).
 */
#ifndef SIGIL_EMAIL_H
#define SIGIL_EMAIL_H

#include <stddef.h>

/* RFC 5321's limit on a path, which a mailbox must fit in, both in its
 * canonical form and with its domain in A-labels (what SMTP sends). */
#define MAX_EMAIL		254

/* RFC 5321: a local part is at most 64 octets; sigil counts characters
 * of up to 4 bytes, as it always has, so that UTF-8 local parts fit. */
#define MAX_EMAIL_LOCAL		(64 * 4)

/* RFC 1035: a domain is at most 253 characters in A-labels, a label 63. */
#define MAX_EMAIL_DOMAIN	253
#define MAX_EMAIL_LABEL		63

int	 email_canonical(const char *, char *, size_t);
int	 email_envelope(const char *, char *, size_t);
int	 email_text_clean(const char *, size_t);
char	*utf8_casefold(const char *);

#endif /* !SIGIL_EMAIL_H */
