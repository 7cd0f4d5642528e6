/*
 * The mail of an email invite (sigil-invite's store-invite): the
 * template of the request's brand filled with the request's fields, made
 * safe for a mail, and what sigil adds (the token, the ephemeral key, a
 * link to sign-ed25519 and a join link to the web client), every link
 * an http(s) URL or nothing.  common/mail finishes and sends it.
 */
#ifndef SIGIL_INVMAIL_H
#define SIGIL_INVMAIL_H

struct buf;
struct cJSON;
struct cfg;
struct tmpl_set;

/* Fields in one store-invite request, at most. */
#define INVITE_MAX_FIELDS	64

/* What the mail is built from, besides the request's own fields. */
struct invite_mail {
	const char	*address;	/* canonical */
	const char	*token;
	const char	*ephemeral_private_key;	/* URL-safe base64 seed */
	const char	*sender;
	const char	*room_id;
	const char	*brand;		/* the request's brand, or NULL */
	int		 sender_verified; /* v2: the token's user sent it */
};

int	 invmail_build(const struct cfg *cfg, const struct tmpl_set *templates,
	    const struct cJSON *args, const struct invite_mail *im,
	    struct buf *msg);
void	 invmail_redact_address(const struct cfg *cfg, const char *address,
	    struct buf *out);

#endif /* !SIGIL_INVMAIL_H */
