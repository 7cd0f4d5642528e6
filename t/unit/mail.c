/*
 * Unit tests for common/mail and common/tmpl: rendering sydent-syntax
 * templates, escaping, and turning the result into a message.
 */
#include <string.h>

#include "buf.h"
#include "mail.h"
#include "tap.h"
#include "tmpl.h"

int
main(void)
{
	const struct tmpl_var vars[] = {
		{ "link", "https://id.example/x?a=1&b=<2>" },
		{ "to", "o'brien@example.ie" },
	};
	struct buf	 out = { 0 }, msg = { 0 };
	struct mail_ids	 a, b;

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
	buf_free(&out);
	buf_free(&msg);
	return done_testing();
}
