/*
 * Unit tests for common/tmpl: the checks a template passes at start
 * (UTF-8, placeholders, the shape of a message), loading only the
 * templates a program uses, brands, and values made safe wherever a
 * template puts them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "tap.h"
#include "tmpl.h"

static const char good_mail[] =
    "From: %(from)s\nTo: %(to)s\nSubject: Hi\n\nGo to %(link)s\n";

/* Writes text to dir/name. */
static void
put_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
checks(void)
{
	static const struct {
		enum tmpl_kind	 kind;
		const char	*text;
		const char	*why;	/* NULL: passes */
	} t[] = {
		{ TMPL_VERIFICATION_MAIL, good_mail, NULL },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\r\n\r\n%(token)s\r\n",
		    NULL },
		{ TMPL_VERIFICATION_MAIL, "Subject: a\n\tfolded\n\nbody\n",
		    NULL },
		{ TMPL_VERIFICATION_MAIL, "Subject: Caf\xe9\n\nx\n",
		    "1:not valid UTF-8" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n\xc3\n",
		    "3:not valid UTF-8" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n\xed\xa0\x80\n",
		    "3:not valid UTF-8" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n%(lnik)s\n",
		    "3:%(lnik)s is not one of" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n%(to from)s\n",
		    "3:a malformed placeholder" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n%(_forhtml)s\n",
		    "3:%(_forhtml)s is not one of" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n%(token)\n",
		    "3:a malformed placeholder" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n100% sure\n",
		    "3:a malformed placeholder" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n%(a.b)s\n",
		    "3:%(a.b)s is not one of" },
		{ TMPL_VERIFICATION_MAIL, "Hello %(link)s\n",
		    "line 1, in the header, is not a header field" },
		{ TMPL_VERIFICATION_MAIL, "Subject: %(link)s\n",
		    "no blank line after the headers" },
		{ TMPL_VERIFICATION_MAIL, "Hello,\n\nGo to %(link)s\n",
		    "line 1, in the header, is not a header field" },
		{ TMPL_VERIFICATION_MAIL, "\nGo to %(link)s\n",
		    "no header before the body" },
		{ TMPL_VERIFICATION_MAIL, "", "no header before the body" },
		{ TMPL_VERIFICATION_MAIL, " Subject: x\n\nbody\n",
		    "line 1, in the header, is not a header field" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n%(link)s\n\nbody\n",
		    "line 2, in the header, is not a header field" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n \n\t\n",
		    "an empty body" },
		{ TMPL_INVITE_MAIL, "Subject: x\n\n%(org.example.x)s "
		    "%(room_name_forhtml)s %(sign_url_forurl)s\n", NULL },
		{ TMPL_INVITE_MAIL, "Subject: x\n\n%(link)s\n",
		    "3:%(link)s is not one of" },
		{ TMPL_SMS, "Your code is %(token)s\n", NULL },
		{ TMPL_SMS, "Your code is %(link)s\n",
		    "1:%(link)s is not one of" },
		{ TMPL_SMS, "\n\n", "renders to nothing" },
		{ TMPL_VERIFY_PAGE, "<p>%(message_forhtml)s</p>\n", NULL },
		{ TMPL_VERIFY_PAGE, "<p>%(mesage)s</p>\n",
		    "1:%(mesage)s is not one of" },
	};
	char	 why[512], got[600];
	size_t	 i, line;
	int	 rc;

	/* Each reason is compared as "line:why", or "why" for a whole
	 * template. */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		rc = tmpl_validate(t[i].text, t[i].kind, &line, why,
		    sizeof(why));
		if (line > 0)
			snprintf(got, sizeof(got), "%zu:%s", line, why);
		else
			snprintf(got, sizeof(got), "%s", why);
		if (t[i].why == NULL)
			ok(rc == 0, "check %zu passes%s%s", i, *why ? ": " : "",
			    why);
		else
			ok(rc == -1 && strncmp(got, t[i].why,
			    strlen(t[i].why)) == 0,
			    "check %zu fails: %s (%s)", i, t[i].why, got);
	}
}

static void
escaping(void)
{
	const struct tmpl_var vars[] = {
		{ "brand", "x\r\nBcc: evil@example.org" },
		{ "to", "a@b.c\nX-Two: 2" },
		{ "link", "<b>&\"'</b>" },
		{ "message", "<i>\xe2\x80\xa8\xc2\x85\x7f\t</i>" },
	};
	struct buf	 out = { 0 };

	ok(tmpl_render("X-Brand: %(brand)s\nTo: %(to_forhtml)s\n"
	    "Subject: %(message)s\n\nbody %(brand)s\n", vars, 4, &out) == 0,
	    "renders");
	is_str(buf_str(&out), "X-Brand: x  Bcc: evil@example.org\n"
	    "To: a@b.c X-Two: 2\nSubject: <i>    </i>\n\n"
	    "body x  Bcc: evil@example.org\n",
	    "CR, LF, other controls, NEL and U+2028 become spaces in a header "
	    "and a body");
	buf_reset(&out);
	ok(tmpl_render("Content-Type: multipart/alternative; boundary=b\n"
	    "Subject: %(link)s\n\n--b\nContent-Type: text/plain\n\n%(link)s\n"
	    "--b\nContent-Type: text/html; charset=UTF-8\n\n"
	    "<a href=\"%(link)s\">%(link_forhtml)s</a> %(to_forurl)s\n--b\n"
	    "Content-Type: text/plain\n\n%(link)s\n--b--\n", vars, 4, &out) ==
	    0, "a multipart mail renders");
	is_str(buf_str(&out), "Content-Type: multipart/alternative; "
	    "boundary=b\nSubject: <b>&\"'</b>\n\n--b\nContent-Type: "
	    "text/plain\n\n<b>&\"'</b>\n--b\nContent-Type: text/html; "
	    "charset=UTF-8\n\n<a href=\"&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;\">"
	    "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;</a> a%40b.c%0AX-Two%3A%202\n"
	    "--b\nContent-Type: text/plain\n\n<b>&\"'</b>\n--b--\n",
	    "in a text/html part every value is HTML-escaped once, plain "
	    "parts and the header not");
	buf_reset(&out);
	ok(tmpl_render("Content-Type: text/html\nSubject: %(link)s\n\n"
	    "%(link)s\n", vars, 4, &out) == 0 && strcmp(buf_str(&out),
	    "Content-Type: text/html\nSubject: <b>&\"'</b>\n\n"
	    "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;\n") == 0,
	    "a text/html message: its body escaped, its header not");
	buf_reset(&out);
	ok(tmpl_render_page("<p>%(message)s %(link)s</p>", vars, 4, &out) ==
	    0 && strcmp(buf_str(&out), "<p>&lt;i&gt;    &lt;/i&gt; "
	    "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;</p>") == 0,
	    "a page escapes every value");
	ok(tmpl_render(NULL, vars, 4, &out) == -1, "no template: -1");
	buf_free(&out);
}

static void
loading(void)
{
	char		 dir[] = "/tmp/sigil-tmpl-XXXXXX", sub[600], err[512] = "";
	struct tmpl_set	 set;
	const unsigned	 verify = TMPL_USES(TMPL_VERIFICATION_MAIL) |
			    TMPL_USES(TMPL_VERIFY_PAGE);

	memset(&set, 0, sizeof(set));

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(sub, sizeof(sub), "%s/default", dir);
	mkdir(sub, 0700);
	put_file(sub, "verification_template.eml", good_mail);
	put_file(sub, "verify_response_template.html", "<p>%(message)s</p>");
	snprintf(sub, sizeof(sub), "%s/acme", dir);
	mkdir(sub, 0700);
	put_file(sub, "verify_response_template.html", "<p>Acme</p>");
	/* Faults in templates validation does not use. */
	put_file(sub, "invite_template.eml", "no headers %(nosuch)s");
	put_file(dir, "plainfile", "");

	ok(tmpl_load(dir, "default", verify, &set, err, sizeof(err)) == 0,
	    "without an SMS gateway, no sms_template.txt, and a broken "
	    "invite mail elsewhere: loads%s%s", set.brands ? "" : ": ",
	    set.brands ? "" : err);
	is_str(tmpl_brand(&set, "acme"), "acme", "a brand folder is a brand");
	is_str(tmpl_brand(&set, NULL), "default", "none: the default");
	is_str(tmpl_brand(&set, "nosuch"), "default", "unknown: the default");
	is_str(tmpl_brand(&set, "../default"), "default", "../: the default");
	is_str(tmpl_brand(&set, "plainfile"), "default",
	    "a file is not a brand");
	is_str(tmpl_brand(&set, "acme\r\nBcc: x"), "default",
	    "a brand with a line break: the default");
	is_str(tmpl_get(&set, "acme", TMPL_VERIFY_PAGE), "<p>Acme</p>",
	    "a brand's own template");
	is_str(tmpl_get(&set, "acme", TMPL_VERIFICATION_MAIL), good_mail,
	    "a file the brand lacks: the default's");
	ok(tmpl_get(&set, "acme", TMPL_SMS) == NULL, "a kind not loaded: "
	    "NULL");
	tmpl_free(&set);

	ok(tmpl_load(dir, "default", verify | TMPL_USES(TMPL_SMS), &set, err,
	    sizeof(err)) == -1 && strstr(err, "/default: sms_template.txt "
	    "is missing") != NULL, "with an SMS gateway the text is "
	    "required (%s)", err);
	tmpl_free(&set);
	snprintf(sub, sizeof(sub), "%s/default", dir);
	put_file(sub, "sms_template.txt", "Code %(token)s");
	snprintf(sub, sizeof(sub), "%s/acme", dir);
	put_file(sub, "sms_template.txt", "\xff");
	ok(tmpl_load(dir, "default", verify | TMPL_USES(TMPL_SMS), &set, err,
	    sizeof(err)) == -1 && strstr(err, "/acme/sms_template.txt:1: not "
	    "valid UTF-8") != NULL, "and checked in every brand (%s)",
	    err);
	tmpl_free(&set);
	ok(tmpl_load(dir, "default", TMPL_USES(TMPL_INVITE_MAIL), &set, err,
	    sizeof(err)) == -1 && strstr(err, "/acme/invite_template.eml:1: "
	    "%(nosuch)s is not one of") != NULL,
	    "the invite mail is checked where it is used (%s)", err);
	tmpl_free(&set);
	ok(tmpl_load(dir, "nosuch", verify, &set, err, sizeof(err)) == -1 &&
	    strstr(err, "no folder for the default brand") != NULL,
	    "no default brand folder (%s)", err);
	tmpl_free(&set);
	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	if (system(sub) != 0)
		diag("could not remove %s", dir);
}

int
main(void)
{
	checks();
	escaping();
	loading();
	return done_testing();
}
