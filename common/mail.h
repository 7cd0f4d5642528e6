/*
 * Outbound mail: building an RFC 5322 message from a rendered template
 * (CRLF line endings, RFC 2047 subject, Date and Message-ID) and sending
 * it over SMTP with libcurl (smtp:// with STARTTLS required, opportunistic
 * or off, or smtps://; certificates checked; optional login).
 */
#ifndef SIGIL_MAIL_H
#define SIGIL_MAIL_H

#include <stddef.h>

struct buf;
struct cfg;

/* Time limits for one mail, well below nginx's 15 s. */
#define MAIL_CONNECT_TIMEOUT_MS	2000
#define MAIL_TOTAL_TIMEOUT_MS	5000

/* The per-message values every mail template may use. */
struct mail_ids {
	char	 date[64];		/* RFC 5322 date, UTC */
	char	 messageid[128];	/* <random@server_name> */
	char	 boundary[40];		/* random MIME boundary */
};

int	 mail_init(const struct cfg *);
void	 mail_free(void);
int	 mail_ids_make(const char *, struct mail_ids *);
int	 mail_finish(const char *, struct buf *);
int	 mail_finish_to(const char *, const char *, struct buf *);
int	 mail_send(const char *, const struct buf *);
int	 mail_header_safe(const char *);
int	 mail_check(char *, size_t);

#endif /* !SIGIL_MAIL_H */
