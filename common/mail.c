/*
 * Mail over SMTP.  Like http.c this module uses libcurl, with a handle of
 * its own per process.  The envelope recipient is the canonical address
 * the caller checked (email.c); the message is the rendered template made
 * into a proper message by mail_finish().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "b64.h"
#include "buf.h"
#include "cfg.h"
#include "email.h"
#include "log.h"
#include "mail.h"
#include "metrics.h"
#include "part.h"
#include "secret.h"
#include "util.h"

PART_LINKED(PART_MAIL)

static struct {
	CURL			*curl;
	const struct cfg	*cfg;		/* borrowed for life */
	char			 envelope_from[512];
} mail;

struct upload {
	const char	*p;
	size_t		 left;
};

/*
 * Prepares the SMTP handle; c is borrowed for the life of the process.
 * Returns 0 or -1.
 */
int
mail_init(const struct cfg *c)
{
	const char	*lt, *gt;

	mail.cfg = c;
	/* The envelope sender: the address inside <...>, or all of it. */
	if ((lt = strchr(c->mail_from, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL)
		snprintf(mail.envelope_from, sizeof(mail.envelope_from),
		    "<%.*s>", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(mail.envelope_from, sizeof(mail.envelope_from),
		    "<%s>", c->mail_from);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (mail.curl = curl_easy_init()) == NULL) {
		log_err("mail: cannot initialise libcurl");
		return -1;
	}
	return 0;
}

/* Releases the SMTP handle. */
void
mail_free(void)
{
	if (mail.curl == NULL)
		return;
	curl_easy_cleanup(mail.curl);
	mail.curl = NULL;
	curl_global_cleanup();
}

/*
 * Makes fresh per-message values: the date, a Message-ID under
 * server_name and a random MIME boundary.  Returns 0 or -1.
 */
int
mail_ids_make(const char *server_name, struct mail_ids *ids)
{
	char		 r1[33], r2[33];
	time_t		 now = time(NULL);
	struct tm	 tm;
	const char	*host;

	if (random_token(r1, sizeof(r1)) == -1 ||
	    random_token(r2, sizeof(r2)) == -1)
		return -1;
	gmtime_r(&now, &tm);
	strftime(ids->date, sizeof(ids->date), "%a, %d %b %Y %H:%M:%S +0000",
	    &tm);
	/* A Message-ID's right side is a domain: drop any port. */
	host = server_name;
	snprintf(ids->messageid, sizeof(ids->messageid), "<%s@%.*s>", r1,
	    (int)strcspn(host, ":[]"), host);
	snprintf(ids->boundary, sizeof(ids->boundary), "=_%s", r2);
	return 0;
}

/* Returns 1 when s may go into a header: no CR, LF or other control. */
int
mail_header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* The most bytes of the value one encoded word carries: 60 base64
 * characters, 72 with "=?UTF-8?B?" and "?=", so that a folded line stays
 * under 78; the first word 3 bytes fewer to leave room for "Subject: ". */
#define SUBJECT_WORD_BYTES	45

/*
 * Appends a header value as it is when ASCII, else as RFC 2047 encoded
 * words of at most SUBJECT_WORD_BYTES bytes each, folded onto new lines.
 * Words are cut on UTF-8 character boundaries where the value has them;
 * a run of bytes with no boundary (not UTF-8: a template is checked at
 * start, so only a bug gets here) is cut anywhere.  Every word takes at
 * least one byte, so the loop ends whatever the input.
 */
static void
put_subject(struct buf *out, const char *value, size_t n)
{
	char	 enc[64];	/* b64_encoded_len(SUBJECT_WORD_BYTES) + 1 */
	size_t	 i, chunk, cut, max;

	/* White space after the colon stays as it is. */
	while (n > 0 && (*value == ' ' || *value == '\t')) {
		buf_putc(out, *value++);
		n--;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)value[i] >= 0x80)
			break;
	if (i == n) {
		buf_append(out, value, n);
		return;
	}
	for (i = 0; i < n; i += chunk) {
		max = i == 0 ? SUBJECT_WORD_BYTES - 3 : SUBJECT_WORD_BYTES;
		chunk = n - i > max ? max : n - i;
		/* Back off to the start of a character, at most the 3
		 * continuation bytes a UTF-8 character has. */
		cut = chunk;
		while (cut > 1 && chunk - cut < 3 && i + cut < n &&
		    ((unsigned char)value[i + cut] & 0xc0) == 0x80)
			cut--;
		if (i + cut == n || ((unsigned char)value[i + cut] & 0xc0) !=
		    0x80)
			chunk = cut;
		if (i > 0)
			buf_puts(out, "\r\n ");	/* folded */
		b64_encode((const unsigned char *)value + i, chunk,
		    B64_STANDARD, enc, sizeof(enc));
		buf_puts(out, "=?UTF-8?B?");
		buf_puts(out, enc);
		/* Encoded words take base64 with its padding. */
		buf_append(out, "==", (4 - strlen(enc) % 4) % 4);
		buf_puts(out, "?=");
	}
}

/* Returns 1 when the header line p (n bytes) is a To: field. */
static int
is_to_field(const char *p, size_t n)
{
	size_t	 i = 2;

	if (n < 2 || strncasecmp(p, "To", 2) != 0)
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/*
 * Turns a rendered template into the message to send, appended to out:
 * every line ending becomes CRLF, a non-ASCII Subject is RFC 2047
 * encoded, and the header must be followed by a body.  When rcpt is not
 * NULL it must be a canonical address (email_canonical()), and the
 * message gets exactly one To: field, "To: " and rcpt alone, in the place
 * of the template's own To: field (its continuation lines dropped), or last
 * when the template has none: the mail module, not a template, decides
 * who the message is addressed to.  rcpt NULL keeps the template's
 * header as it is (for checking templates).  Returns 0, or -1 when the
 * text has no header/body split or rcpt is not canonical.
 */
int
mail_finish_to(const char *text, const char *rcpt, struct buf *out)
{
	const char	*p = text, *eol;
	char		 canon[3 * MAX_EMAIL + 1];
	size_t		 n;
	int		 in_header = 1, saw_header = 0, to_done = 0;
	int		 skipping = 0;

	if (rcpt != NULL && (email_canonical(rcpt, canon, sizeof(canon)) ==
	    -1 || strcmp(rcpt, canon) != 0))
		return -1;
	if (rcpt == NULL)
		to_done = 1;
	while (*p != '\0') {
		eol = strchr(p, '\n');
		n = eol == NULL ? strlen(p) : (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (in_header && skipping && n > 0 && (*p == ' ' ||
		    *p == '\t'))
			goto next;	/* a continuation of a dropped To: */
		skipping = 0;
		if (in_header && n == 0) {
			if (!to_done) {
				buf_printf(out, "To: %s\r\n", rcpt);
				to_done = 1;
			}
			in_header = 0;
		} else if (in_header && rcpt != NULL && is_to_field(p, n)) {
			skipping = 1;
			saw_header = 1;
			if (to_done)
				goto next;
			buf_printf(out, "To: %s", rcpt);
			to_done = 1;
		} else if (in_header) {
			saw_header = 1;
			if (strncasecmp(p, "Subject:", 8) == 0) {
				buf_append(out, p, 8);
				put_subject(out, p + 8, n - 8);
			} else
				buf_append(out, p, n);
		} else {
			/* A leading dot is the SMTP end marker; libcurl
			 * escapes it, so the body can stay as it is. */
			buf_append(out, p, n);
		}
		buf_puts(out, "\r\n");
next:
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return saw_header && !in_header ? 0 : -1;
}

/* mail_finish_to() with the template's header as it is. */
int
mail_finish(const char *text, struct buf *out)
{
	return mail_finish_to(text, NULL, out);
}

static size_t
mail_read(char *dst, size_t size, size_t n, void *arg)
{
	struct upload	*u = arg;
	size_t		 len = size * n;

	if (len > u->left)
		len = u->left;
	memcpy(dst, u->p, len);
	u->p += len;
	u->left -= len;
	return len;
}

/*
 * Resets the handle and sets what every connection to the SMTP server
 * takes: its URL, TLS as smtp_tls says (certificates verified), the
 * login, and the time limits.
 */
static void
connection_options(void)
{
	long	 ssl = CURLUSESSL_ALL;

	if (strcmp(mail.cfg->smtp_tls, "off") == 0)
		ssl = CURLUSESSL_NONE;
	else if (strcmp(mail.cfg->smtp_tls, "opportunistic") == 0)
		ssl = CURLUSESSL_TRY;
	curl_easy_reset(mail.curl);
	curl_easy_setopt(mail.curl, CURLOPT_URL, mail.cfg->smtp_url);
	curl_easy_setopt(mail.curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(mail.curl, CURLOPT_USE_SSL, ssl);
	curl_easy_setopt(mail.curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(mail.curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (mail.cfg->smtp_ca_file != NULL)
		curl_easy_setopt(mail.curl, CURLOPT_CAINFO,
		    mail.cfg->smtp_ca_file);
	if (mail.cfg->smtp_user != NULL) {
		curl_easy_setopt(mail.curl, CURLOPT_USERNAME,
		    mail.cfg->smtp_user);
		curl_easy_setopt(mail.curl, CURLOPT_PASSWORD,
		    mail.cfg->smtp_password == NULL ? "" :
		    mail.cfg->smtp_password);
	}
	curl_easy_setopt(mail.curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)MAIL_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(mail.curl, CURLOPT_TIMEOUT_MS,
	    (long)MAIL_TOTAL_TIMEOUT_MS);
	curl_easy_setopt(mail.curl, CURLOPT_NOSIGNAL, 1L);
}

/*
 * -t: connects to the SMTP server as a mail would (greeting, EHLO,
 * STARTTLS and login as configured) and says goodbye without sending.
 * Returns 0, or -1 with curl's reason in err.
 */
int
mail_check(char *err, size_t errlen)
{
	CURLcode	 rc;

	connection_options();
	curl_easy_setopt(mail.curl, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(mail.curl);
	curl_easy_reset(mail.curl);	/* (QUIT when the handle goes) */
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Sends the finished message msg to the address rcpt, which must be in
 * its canonical form (email_canonical()); RCPT TO gets that form with
 * the domain in A-labels (email_envelope()).  Returns 0, or -1 after
 * logging why (never the message, nor the address).
 */
int
mail_send(const char *rcpt, const struct buf *msg)
{
	struct curl_slist	*to = NULL;
	struct upload		 up = { buf_str(msg), msg->len };
	char			 addr[MAX_EMAIL + 3], env[MAX_EMAIL + 1];
	char			 canon[3 * MAX_EMAIL + 1];
	CURLcode		 rc;

	if (email_canonical(rcpt, canon, sizeof(canon)) == -1 ||
	    strcmp(rcpt, canon) != 0 ||
	    email_envelope(rcpt, env, sizeof(env)) == -1) {
		log_err("mail: the recipient is not a canonical address");
		metrics_count(METRICS_MAIL_FAILED);
		return -1;
	}
	snprintf(addr, sizeof(addr), "<%s>", env);
	to = curl_slist_append(NULL, addr);
	connection_options();
	curl_easy_setopt(mail.curl, CURLOPT_MAIL_FROM, mail.envelope_from);
	curl_easy_setopt(mail.curl, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(mail.curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(mail.curl, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(mail.curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(mail.curl, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)msg->len);
	rc = curl_easy_perform(mail.curl);
	curl_slist_free_all(to);
	if (rc != CURLE_OK) {
		log_err("mail: sending failed: %s", curl_easy_strerror(rc));
		metrics_count(METRICS_MAIL_FAILED);
		return -1;
	}
	metrics_count(METRICS_MAIL_SENT);
	return 0;
}
