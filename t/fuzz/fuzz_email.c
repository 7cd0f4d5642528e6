/*
 * libFuzzer target: email addresses (common/email.c) and the mail built
 * for them (common/mail.c, common/tmpl.c).
 * Invariants: an address we accept has a canonical form that is valid
 * UTF-8 with no byte below 0x20, no 0x7f and no code point of Unicode
 * category Cc, Cf, Zl or Zp, and that fits MAX_EMAIL; canonicalising it
 * again changes nothing; its SMTP form is the same from the input and
 * from the canonical form, and ASCII after the @; the mail the mail
 * module builds for it (the real template renderer and header builder)
 * parses back to exactly one recipient, that address.  The mail module
 * refuses any recipient that is not canonical.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unictype.h>
#include <unistr.h>

#include "buf.h"
#include "email.h"
#include "json.h"
#include "mail.h"
#include "tmpl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Aborts unless s is valid UTF-8 without C0, DEL, Cc, Cf, Zl or Zp. */
static void
assert_clean(const char *s)
{
	const uint8_t	*p = (const uint8_t *)s, *end = p + strlen(s);
	ucs4_t		 uc;
	int		 k;

	if (!json_utf8_valid(p, (size_t)(end - p)))
		abort();
	for (; p < end; p += k) {
		if (*p < 0x20 || *p == 0x7f)
			abort();
		if ((k = u8_mbtoucr(&uc, p, (size_t)(end - p))) <= 0)
			abort();
		if (uc_is_general_category(uc, UC_CATEGORY_Cc) ||
		    uc_is_general_category(uc, UC_CATEGORY_Cf) ||
		    uc_is_general_category(uc, UC_CATEGORY_Zl) ||
		    uc_is_general_category(uc, UC_CATEGORY_Zp))
			abort();
	}
}

/* Whether the header field at f (n bytes, unfolded) is named name. */
static int
field_is(const char *f, size_t n, const char *name)
{
	size_t	 k = strlen(name);

	return n > k && strncasecmp(f, name, k) == 0 && f[k] == ':';
}

/*
 * Parses the header of the finished message msg as a mail server would
 * (CRLF lines, folded lines joined) and aborts unless it names exactly
 * one recipient: one To: field whose value is rcpt alone, no Cc: or
 * Bcc:, and no bare CR or LF anywhere in the header.
 */
static void
assert_one_recipient(const char *msg, const char *rcpt)
{
	const char	*p = msg, *eol, *hend;
	struct buf	 field = { 0 };
	int		 to = 0;

	if ((hend = strstr(msg, "\r\n\r\n")) == NULL)
		abort();
	hend += 2;
	for (; p < hend; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (memchr(p, '\n', (size_t)(eol - p)) != NULL ||
		    memchr(p, '\r', (size_t)(eol - p)) != NULL)
			abort();
		if (*p != ' ' && *p != '\t')
			buf_reset(&field);
		buf_append(&field, p, (size_t)(eol - p));
		/* The field is complete when the next line does not
		 * continue it. */
		if (eol + 2 < hend && (eol[2] == ' ' || eol[2] == '\t'))
			continue;
		if (field_is(buf_str(&field), field.len, "Cc") ||
		    field_is(buf_str(&field), field.len, "Bcc") ||
		    field_is(buf_str(&field), field.len, "Resent-To"))
			abort();
		if (field_is(buf_str(&field), field.len, "To")) {
			const char	*v = buf_str(&field) + 3;

			while (*v == ' ' || *v == '\t')
				v++;
			/* One addr-spec: what a parser would split a list or
			 * a group on is absent, and it is rcpt itself. */
			if (++to > 1 || strcmp(v, rcpt) != 0 ||
			    strpbrk(v, ",;:<>\"()[]\\ \t") != NULL ||
			    strchr(v, '@') != strrchr(v, '@'))
				abort();
		}
	}
	if (to != 1)
		abort();
	buf_free(&field);
}

/* Checks an address the way every path uses it (see the top). */
static void
check_email(const char *text)
{
	static const char tmpl[] = "From: Sigil <noreply@id.example>\n"
	    "To: %(to)s\nSubject: Confirm %(to)s\n\nHello %(to)s\n";
	char		 canon[3 * MAX_EMAIL + 1], again[3 * MAX_EMAIL + 1];
	char		 env[MAX_EMAIL + 1];
	struct buf	 rendered = { 0 }, msg = { 0 };
	const char	*at;
	int		 accepted;

	accepted = email_canonical(text, canon, sizeof(canon)) == 0;
	/* The mail module takes a canonical address and nothing else. */
	if (mail_finish_to("To: x\n\nb\n", text, &msg) == 0 &&
	    (!accepted || strcmp(text, canon) != 0))
		abort();
	buf_reset(&msg);
	if (!accepted)
		return;
	assert_clean(canon);
	if (strlen(canon) > MAX_EMAIL)
		abort();
	if (email_canonical(canon, again, sizeof(again)) != 0 ||
	    strcmp(canon, again) != 0)
		abort();
	if (email_envelope(canon, env, sizeof(env)) != 0 ||
	    email_envelope(text, again, sizeof(again)) != 0 ||
	    strcmp(env, again) != 0)
		abort();
	assert_clean(env);
	if ((at = strchr(env, '@')) == NULL)
		abort();
	for (at++; *at != '\0'; at++)
		if ((unsigned char)*at >= 0x80)
			abort();
	{
		const struct tmpl_var	 vars[] = { { "to", canon } };

		if (tmpl_render(tmpl, vars, 1, &rendered) != 0 ||
		    mail_finish_to(buf_str(&rendered), canon, &msg) != 0)
			abort();
	}
	assert_one_recipient(buf_str(&msg), canon);
	buf_free(&rendered);
	buf_free(&msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text;

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	check_email(text);
	free(text);
	return 0;
}
