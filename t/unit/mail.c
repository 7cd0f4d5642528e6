/*
 * Unit tests for common/mail and common/tmpl: rendering sydent-syntax
 * templates, escaping, and turning the result into a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "mail.h"
#include "tap.h"
#include "tmpl.h"


/*
 * Decodes the Subject of the finished message msg back into out: the
 * encoded words of its lines joined, or the line as it is when it has
 * none.  Returns 0, or -1 with why in *why when the header is not what
 * put_subject promises (a line over 78 characters, a word that is not
 * "=?UTF-8?B?...?=", another header line or a body line in its way).
 */
static int
subject_back(const char *msg, struct buf *out, const char **why)
{
	const char	*p, *eol, *w, *end;
	unsigned char	 dec[128];
	size_t		 n, len;

	if (strncmp(msg, "Subject: ", 9) != 0) {
		*why = "no Subject: first";
		return -1;
	}
	for (p = msg + 9;; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL) {
			*why = "no CRLF";
			return -1;
		}
		len = (size_t)(eol - msg) - (size_t)(p - msg);
		if (len + (p == msg + 9 ? 9 : 0) > 78) {
			*why = "a line over 78 characters";
			return -1;
		}
		if (p != msg + 9) {
			if (*p != ' ') {
				*why = "a line that is not a fold";
				return -1;
			}
			p++;
		}
		if (strncmp(p, "=?UTF-8?B?", 10) != 0) {
			if (p != msg + 9 || memchr(p, '?', len) != NULL) {
				*why = "not an encoded word";
				return -1;
			}
			buf_append(out, p, len);	/* ASCII as it is */
		} else {
			w = p + 10;
			if ((end = strstr(w, "?=")) == NULL || end + 2 != eol ||
			    b64_decode(w, (size_t)(end - w), dec, sizeof(dec),
			    &n) == -1) {
				*why = "a malformed encoded word";
				return -1;
			}
			buf_append(out, (const char *)dec, n);
		}
		if (eol[2] != ' ')
			break;
	}
	if (strcmp(eol, "\r\n\r\nx\r\n") != 0) {
		*why = "not followed by the body";
		return -1;
	}
	return 0;
}

/* Subjects put_subject must survive and give back unchanged. */
static void
nasty_subjects(void)
{
	static const struct {
		const char	*name;
		const char	*s;
		size_t		 n;	/* 0: strlen(s) */
	} t[] = {
		{ "empty", "", 0 },
		{ "ASCII", "plain words", 0 },
		{ "one e-acute", "\xc3\xa9", 0 },
		{ "a lone continuation byte", "\x80", 0 },
		{ "a stray start byte at the end", "abc\xc3", 0 },
		{ "a 0xff byte", "\xff\xfe", 0 },
		{ "a 4-byte character across byte 45",
		    "0123456789012345678901234567890123456789012"
		    "\xf0\x9f\x98\x80tail", 0 },
		{ "a 3-byte character across byte 45",
		    "01234567890123456789012345678901234567890123"
		    "\xe2\x80\xa6tail", 0 },
		{ "too many continuation bytes after a start",
		    "\xc3\x80\x80\x80\x80\x80", 0 },
	};
	struct buf	 in = { 0 }, msg = { 0 }, back = { 0 };
	const char	*why = "";
	size_t		 i, k;
	char		 name[128];

	for (i = 0; i < sizeof(t) / sizeof(t[0]) + 4; i++) {
		buf_reset(&in);
		buf_puts(&in, "Subject: ");
		if (i < sizeof(t) / sizeof(t[0])) {
			buf_append(&in, t[i].s, t[i].n ? t[i].n : strlen(t[i].s));
			snprintf(name, sizeof(name), "%s", t[i].name);
		} else if (i == sizeof(t) / sizeof(t[0])) {
			/* The input that looped: a long run of
			 * continuation bytes. */
			for (k = 0; k < 5000; k++)
				buf_putc(&in, (char)0x80);
			snprintf(name, sizeof(name), "5,000 continuation "
			    "bytes");
		} else if (i == sizeof(t) / sizeof(t[0]) + 1) {
			buf_putc(&in, (char)0xe2);
			for (k = 0; k < 100; k++)
				buf_putc(&in, (char)0xbf);
			snprintf(name, sizeof(name), "a start byte and 100 "
			    "continuation bytes");
		} else if (i == sizeof(t) / sizeof(t[0]) + 2) {
			for (k = 0; k < 3000; k++)
				buf_puts(&in, "\xe2\x82\xac");
			snprintf(name, sizeof(name), "3,000 euro signs");
		} else {
			srand(42);
			for (k = 0; k < 4000; k++)
				buf_putc(&in, (char)(0x80 | (rand() & 0x7f)));
			snprintf(name, sizeof(name), "4,000 random high "
			    "bytes");
		}
		buf_puts(&in, "\n\nx\n");
		buf_reset(&msg);
		buf_reset(&back);
		if (!ok(mail_finish(buf_str(&in), &msg) == 0, "%s: finished",
		    name))
			continue;
		why = "";
		k = (size_t)subject_back(buf_str(&msg), &back, &why);
		ok(k == 0, "%s: encoded words on folded lines of at most 78 "
		    "characters%s%s", name, *why ? ": " : "", why);
		ok(back.len == in.len - 9 - 4 &&
		    memcmp(back.data, in.data + 9, back.len) == 0,
		    "%s: decodes back to the same bytes", name);
	}
	buf_free(&in);
	buf_free(&msg);
	buf_free(&back);
}

int
main(void)
{
	const struct tmpl_var vars[] = {
		{ "link", "https://id.example/x?a=1&b=<2>" },
		{ "to", "o'brien@example.ie" },
	};
	struct buf	 out = { 0 }, msg = { 0 };
	struct mail_ids	 a, b;

	/* A loop in put_subject ends the test (a failure), not the suite. */
	alarm(20);

	ok(tmpl_render("L=%(link)s H=%(link_forhtml)s U=%(to_forurl)s 100%%",
	    vars, 2, &out) == 0, "a template renders");
	is_str(buf_str(&out), "L=https://id.example/x?a=1&b=<2> "
	    "H=https://id.example/x?a=1&amp;b=&lt;2&gt; "
	    "U=o%27brien%40example.ie 100%", "plain, HTML and URL forms, %%");
	buf_reset(&out);
	ok(tmpl_render("%(nosuch)s", vars, 2, &out) == -1,
	    "an unknown variable fails to render");
	ok(tmpl_render("%(link)d", vars, 2, &out) == -1,
	    "a placeholder not ending in s fails");
	ok(tmpl_render("50% off", vars, 2, &out) == -1,
	    "a lone percent sign fails");

	ok(mail_finish("Subject: Hi\nTo: a@b.c\n\nbody\nline\n", &msg) == 0,
	    "a message is finished");
	is_str(buf_str(&msg), "Subject: Hi\r\nTo: a@b.c\r\n\r\nbody\r\nline\r\n",
	    "LF becomes CRLF");
	buf_reset(&msg);
	ok(mail_finish("Subject: Hi\r\n\r\nbody\r\n", &msg) == 0 &&
	    strcmp(buf_str(&msg), "Subject: Hi\r\n\r\nbody\r\n") == 0,
	    "CRLF stays CRLF");
	buf_reset(&msg);
	mail_finish("Subject: Caf\xc3\xa9\n\nx\n", &msg);
	is_str(buf_str(&msg), "Subject: =?UTF-8?B?Q2Fmw6k=?=\r\n\r\nx\r\n",
	    "a non-ASCII subject is RFC 2047 encoded, padding kept");
	buf_reset(&msg);
	ok(mail_finish("Subject: only a header\n", &msg) == -1,
	    "a message without a body is refused");

	buf_reset(&msg);
	ok(mail_finish_to("From: f@x.example\nTo: Someone <%(x)s>,\n"
	    " other@x.example\nSubject: Hi\n\nTo: body@x.example\n",
	    "a@b.example", &msg) == 0, "a message for one recipient");
	is_str(buf_str(&msg), "From: f@x.example\r\nTo: a@b.example\r\n"
	    "Subject: Hi\r\n\r\nTo: body@x.example\r\n",
	    "its To: is the recipient alone, continuation lines dropped");
	buf_reset(&msg);
	ok(mail_finish_to("Subject: Hi\nto :x@y.example\nTO: z@y.example\n\n"
	    "b\n", "a@b.example", &msg) == 0 && strcmp(buf_str(&msg),
	    "Subject: Hi\r\nTo: a@b.example\r\n\r\nb\r\n") == 0,
	    "two To: fields in any case become one");
	buf_reset(&msg);
	ok(mail_finish_to("Subject: Hi\nTopic: t\n\nb\n", "a@b.example",
	    &msg) == 0 && strcmp(buf_str(&msg), "Subject: Hi\r\nTopic: t"
	    "\r\nTo: a@b.example\r\n\r\nb\r\n") == 0,
	    "a template without To: gets one");
	buf_reset(&msg);
	ok(mail_finish_to("To: %(to)s\n\nb\n", "A@b.example", &msg) == -1 &&
	    mail_finish_to("To: %(to)s\n\nb\n", "\"a\\\rb\"@b.example",
	    &msg) == -1 && mail_finish_to("To: %(to)s\n\nb\n",
	    "a@xn--ber-goa.example", &msg) == -1,
	    "a recipient not in its canonical form is refused");

	ok(mail_header_safe("Sigil <noreply@example.org>"), "a From is safe");
	ok(!mail_header_safe("x\r\nBcc: y"), "CR LF is not");
	ok(mail_ids_make("id.example.org:8443", &a) == 0 &&
	    mail_ids_make("id.example.org:8443", &b) == 0, "ids are made");
	ok(strcmp(a.boundary, b.boundary) != 0 &&
	    strcmp(a.messageid, b.messageid) != 0,
	    "each message gets its own boundary and Message-ID");
	ok(strstr(a.messageid, "@id.example.org>") != NULL,
	    "the Message-ID names the server without its port");
	nasty_subjects();
	buf_free(&out);
	buf_free(&msg);
	return done_testing();
}
