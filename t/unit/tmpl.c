/*
 * Unit tests for common/tmpl and common/j2: the checks a template passes
 * at start (UTF-8, placeholders, the shape of a message), loading only the
 * templates a program uses, brands, values made safe wherever a template
 * puts them, and the Jinja2 subset of .j2 mail templates: each construct,
 * rendered as Jinja2 3.1 renders it in sydent's environment
 * (sydent/config/general.py:63-66: autoescape=True, the other settings
 * Jinja2's defaults, so a single trailing newline is dropped), and every
 * fault with its line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "buf.h"
#include "j2.h"
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

/*
 * One check of a template: passed, and the line and reason it gave, as
 * want says: NULL to pass, else the start of "line:why" ("why" for a
 * whole template).  what and i name the test.
 */
static void
check_is(int passed, size_t line, const char *why, const char *want,
    const char *what, size_t i)
{
	char	 got[1100];

	if (line > 0)
		snprintf(got, sizeof(got), "%zu:%s", line, why);
	else
		snprintf(got, sizeof(got), "%s", why);
	if (want == NULL)
		ok(passed, "%s %zu passes%s%s", what, i, *why ? ": " : "", why);
	else
		ok(!passed && strncmp(got, want, strlen(want)) == 0,
		    "%s %zu fails: %s (%s)", what, i, want, got);
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
	char	 why[512];
	size_t	 i, line;
	int	 rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		rc = tmpl_validate(t[i].text, t[i].kind, &line, why,
		    sizeof(why));
		check_is(rc == 0, line, why, t[i].why, "check", i);
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
	char		 page_text[] = "<p>%(message)s %(link)s</p>";
	struct tmpl	 page = { page_text, NULL };
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
	ok(tmpl_render_page(&page, vars, 4, &out) == 0 && strcmp(buf_str(&out), "<p>&lt;i&gt;    &lt;/i&gt; "
	    "&lt;b&gt;&amp;&quot;&#39;&lt;/b&gt;</p>") == 0,
	    "a page escapes every value");
	ok(tmpl_render(NULL, vars, 4, &out) == -1, "no template: -1");
	buf_free(&out);
}

/* The variables the Jinja2 tests below may use. */
static const char j2_names[] = " a b c room_type ";

/*
 * Compiles text with j2_names and renders it with a, b, c and room_type
 * set as given; returns the output, or "E<line>:<why>" for a fault, in a
 * static buffer.
 */
static const char *
j2_try(const char *text, const char *a, const char *b, const char *c,
    const char *room_type)
{
	static char	 got[1200];
	const struct tmpl_var vars[] = {
		{ "a", a }, { "b", b }, { "c", c }, { "room_type", room_type },
	};
	struct buf	 out = { 0 };
	struct j2	*t;
	char		 why[1024] = "";
	size_t		 line = 99;

	if ((t = j2_compile(text, j2_names, &line, why, sizeof(why))) ==
	    NULL) {
		snprintf(got, sizeof(got), "E%zu:%s", line, why);
		return got;
	}
	if (j2_render(t, vars, 4, &out) == -1)
		snprintf(got, sizeof(got), "render failed");
	else
		snprintf(got, sizeof(got), "%s", buf_str(&out));
	buf_free(&out);
	j2_free(t);
	return got;
}

/* s on one line (\n as \\n), for a test's name; in a static buffer. */
static const char *
oneline(const char *s)
{
	static char	 line[512];
	size_t		 n = 0;

	for (; *s != '\0' && n + 3 < sizeof(line); s++) {
		if (*s == '\n' || *s == '\r') {
			line[n++] = '\\';
			line[n++] = *s == '\n' ? 'n' : 'r';
		} else
			line[n++] = *s;
	}
	line[n] = '\0';
	return line;
}

/* Each construct of the subset; the outputs are Jinja2 3.1.6's for the
 * same template and values in sydent's environment, but where a value
 * holds a line break or a control character: sigil makes it a space. */
static void
jinja_constructs(void)
{
	static const struct {
		const char	*text, *a, *b, *want;
	} t[] = {
		{ "{{ a }}", "<b>&\"'</b>", "",
		    "&lt;b&gt;&amp;&#34;&#39;&lt;/b&gt;" },
		{ "{{a}}|{{ a|safe }}|{{ a | safe }}", "<&>", "",
		    "&lt;&amp;&gt;|<&>|<&>" },
		{ "{{ a|urlencode }}", "a b/c?d=\xc3\xa9&~_.-+@\n", "",
		    "a%20b/c%3Fd%3D%C3%A9%26~_.-%2B%40%0A" },
		{ "{{ a|urlencode|safe }} {{ a|safe|urlencode }}", "\"<x y>'",
		    "", "%22%3Cx%20y%3E%27 %22%3Cx%20y%3E%27" },
		{ "{{ a|urlencode }}", "AZaz09", "", "AZaz09" },
		/* Line breaks and controls: a space, in every form but url. */
		{ "{{ a|safe }}|{{ a }}", "x\r\nBcc: y\xe2\x80\xa8z\t", "",
		    "x  Bcc: y z |x  Bcc: y z " },
		/* Not Jinja2: the legacy syntax and lone braces are text. */
		{ "100%% %(a)s { margin: 0; } }}", "A", "",
		    "100%% %(a)s { margin: 0; } }}" },
		{ "x\n", "", "", "x" },
		{ "x\n\n", "", "", "x\n" },
		{ "x\r\n", "", "", "x" },
		{ "x{# a {{ b }} {% if %} #}y", "", "", "xy" },
		{ "x {#- c -#} y", "", "", "xy" },
		{ "a  \n {{- b -}} \n c", "", "B", "aBc" },
		{ "{%- if a -%}\n  A\n{%- endif %}\n", "1", "", "A" },
		{ "x\n  {%- if a %}\nA\n  {%- endif -%}\n\ny\n", "1", "",
		    "x\nAy" },
		{ "[{% if a %}A{% endif %}]", "", "", "[]" },
		{ "[{% if a %}A{% endif %}]", "0", "", "[A]" },
		{ "[{% if not a %}none{% endif %}]", "", "", "[none]" },
		{ "[{% if not a %}none{% endif %}]", "x", "", "[]" },
		{ "{% if a == 'm.space' %}space{% else %}room{% endif %}",
		    "m.space", "", "space" },
		{ "{% if a == \"m.space\" %}space{% else %}room{% endif %}",
		    "m.spaces", "", "room" },
		{ "{% if a == \"m.space\" %}space{% else %}room{% endif %}",
		    "m.spac", "", "room" },
		{ "{% if a == \"\" %}empty{% else %}room{% endif %}", "", "",
		    "empty" },
		{ "{% if a != 'x' %}ne{% else %}eq{% endif %}", "x", "", "eq" },
		{ "{% if a != 'x' %}ne{% else %}eq{% endif %}", "y", "", "ne" },
		{ "{% if a == \"caf\xc3\xa9 {x}\" %}y{% endif %}",
		    "caf\xc3\xa9 {x}", "", "y" },
		{ "{% if a == 'x' %}X{% elif a == 'y' %}Y{% elif a %}other"
		    "{% else %}empty{% endif %}", "y", "", "Y" },
		{ "{% if a == 'x' %}X{% elif a == 'y' %}Y{% elif a %}other"
		    "{% else %}empty{% endif %}", "x", "", "X" },
		{ "{% if a == 'x' %}X{% elif a == 'y' %}Y{% elif a %}other"
		    "{% else %}empty{% endif %}", "z", "", "other" },
		{ "{% if a == 'x' %}X{% elif a == 'y' %}Y{% elif a %}other"
		    "{% else %}empty{% endif %}", "", "", "empty" },
		{ "{% if a == 'x' %}X{% elif a == 'y' %}Y{% endif %}.", "z",
		    "", "." },
		{ "{% if a %}[{% if b == 'x' %}ax{% else %}a-{% endif %}]"
		    "{% else %}no-a{% if b %}b{% endif %}{% endif %}", "1", "x",
		    "[ax]" },
		{ "{% if a %}[{% if b == 'x' %}ax{% else %}a-{% endif %}]"
		    "{% else %}no-a{% if b %}b{% endif %}{% endif %}", "1", "y",
		    "[a-]" },
		{ "{% if a %}[{% if b == 'x' %}ax{% else %}a-{% endif %}]"
		    "{% else %}no-a{% if b %}b{% endif %}{% endif %}", "", "y",
		    "no-ab" },
		{ "{%if a==\"1\"%}{{b}}{%endif%}", "1", "<", "&lt;" },
		{ "{% if a %}\n{{ b }}\n{% endif %}", "1", "B", "\nB\n" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_str(j2_try(t[i].text, t[i].a, t[i].b, "", ""), t[i].want,
		    "jinja %zu: %s", i, oneline(t[i].text));
}

/* Every fault of the subset, with its line. */
static void
jinja_faults(void)
{
	static const struct {
		const char	*text, *want;
	} t[] = {
		{ "x\n{% for a in b %}{{ a }}{% endfor %}",
		    "E2:{% for a in b %}: for is not a statement of the "
		    "subset (if, elif, else, endif)" },
		{ "{% raw %}", "E1:{% raw %}: raw is not a statement" },
		{ "{% set a = 1 %}", "E1:{% set a = 1 %}: set is not a "
		    "statement" },
		{ "{% include 'x' %}", "E1:{% include 'x' %}: include is not" },
		{ "{%+ if a %}x{% endif %}", "E1:{%+ if a %}: not a statement "
		    "of the subset" },
		{ "{% 'if' %}", "E1:{% 'if' %}: not a statement of the subset" },
		{ "{%  %}", "E1:{%  %}: not a statement of the subset" },
		{ "a\nb\n{{ a|upper }}", "E3:{{ a|upper }}: the filter upper is "
		    "not known (|safe and |urlencode are)" },
		{ "{{ a|e }}", "E1:{{ a|e }}: the filter e is not known" },
		{ "{{ a|urlencode('x') }}", "E1:{{ a|urlencode('x') }}: not in "
		    "the subset: {{ }} holds a variable's name, with |safe or "
		    "|urlencode" },
		{ "{{ a| }}", "E1:{{ a| }}: not in the subset" },
		{ "\n\n{{ nosuch }}", "E3:{{ nosuch }}: nosuch is not one of: "
		    "a b c room_type " },
		{ "{{ a.b }}", "E1:{{ a.b }}: not in the subset" },
		{ "{{ a['b'] }}", "E1:{{ a['b'] }}: not in the subset" },
		{ "{{ a + b }}", "E1:{{ a + b }}: not in the subset" },
		{ "{{ a ~ b }}", "E1:{{ a ~ b }}: not in the subset" },
		{ "{{ 'lit' }}", "E1:{{ 'lit' }}: not in the subset" },
		{ "{{ a() }}", "E1:{{ a() }}: not in the subset" },
		{ "{{ }}", "E1:{{ }}: an empty {{ }}" },
		{ "{{- -}}", "E1:{{- -}}: an empty {{ }}" },
		{ "x\n{{ a", "E2:{{ a: no }} to close it" },
		{ "x\n{{ a }\n}", "E2:{{ a }...: no }} to close it" },
		{ "{% if a", "E1:{% if a: no %} to close it" },
		{ "{% if a %", "E1:{% if a %: no %} to close it" },
		{ "x\n\n{# a note", "E3:{# a note: no #} to close it" },
		{ "{% if a == \"x %}y{% endif %}",
		    "E1:{% if a == \"x %}y{% endif %}: no %} to close it" },
		{ "\n{% if a %}\n{% if b %}x{% endif %}\n",
		    "E2:{% if %} without {% endif %}" },
		{ "{% if a %}x{% endif %}\n{% if b %}\n",
		    "E2:{% if %} without {% endif %}" },
		{ "x\n{% else %}", "E2:{% else %}: no {% if %} before it" },
		{ "{% elif a %}", "E1:{% elif a %}: no {% if %} before it" },
		{ "{% if a %}{% endif %}\n{% endif %}",
		    "E2:{% endif %}: no {% if %} before it" },
		{ "{% if a %}\n{% else %}\n{% else %}{% endif %}",
		    "E3:{% else %}: after the {% else %} of the {% if %} of "
		    "line 1" },
		{ "{% if a %}{% else %}\n{% elif b %}{% endif %}",
		    "E2:{% elif b %}: after the {% else %}" },
		{ "{% if a %}{% else b %}{% endif %}",
		    "E1:{% else b %}: not in the subset: {% else %} takes "
		    "nothing" },
		{ "{% if a %}{% endif a %}",
		    "E1:{% endif a %}: not in the subset: {% endif %} takes "
		    "nothing" },
		{ "{% if %}{% endif %}", "E1:{% if %}: not in the subset: a "
		    "test is name, not name, name == \"text\" or name != "
		    "\"text\"" },
		{ "{% if a == b %}{% endif %}", "E1:{% if a == b %}: not in "
		    "the subset: a test is" },
		{ "{% if a = 'x' %}{% endif %}", "E1:{% if a = 'x' %}: not in "
		    "the subset" },
		{ "{% if a == 'x' or b %}{% endif %}",
		    "E1:{% if a == 'x' or b %}: not in the subset" },
		{ "{% if a and b %}{% endif %}", "E1:{% if a and b %}: not in "
		    "the subset" },
		{ "{% if not a == 'x' %}{% endif %}",
		    "E1:{% if not a == 'x' %}: not in the subset" },
		{ "{% if a == 'x\\'y' %}{% endif %}",
		    "E1:{% if a == 'x\\'y' %}: not in the subset" },
		{ "{% if a is defined %}{% endif %}",
		    "E1:{% if a is defined %}: not in the subset" },
		{ "{% if a|length %}{% endif %}",
		    "E1:{% if a|length %}: not in the subset" },
		{ "{% if nosuch %}{% endif %}",
		    "E1:{% if nosuch %}: nosuch is not one of" },
		{ "{% elif %}", "E1:{% elif %}: no {% if %} before it" },
		{ "{% if a %}{% elif %}{% endif %}",
		    "E1:{% elif %}: not in the subset: a test is" },
		{ "{{ a }}{{ a }}{{ a }}{{ a }}{{ a }}{{ a }}{{ a|nosuchfilter "
		    "}}", "E1:{{ a|nosuchfilter }}: the filter" },
		{ "{{ a + b + c + a + b + c + a + b + c + a + b + c + a + b + c "
		    "}}", "E1:{{ a + b + c + a + b + c + a + b + c + a + b + c + "
		    "a + b + c...: not in the subset" },
	};
	char	 text[16 * (MAX_TEMPLATE_DEPTH + 1) + 1] = "";
	char	*many;
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = j2_try(t[i].text, "", "", "", "");

		ok(strncmp(got, t[i].want, strlen(t[i].want)) == 0,
		    "jinja fault %zu: %s (%s)", i, t[i].want, got);
	}
	for (i = 0; i < MAX_TEMPLATE_DEPTH; i++)
		strcat(text, "{% if a %}");
	is_str(j2_try(text, "", "", "", ""), "E1:{% if %} without "
	    "{% endif %}", "%d {%% if %%} inside each other are fine",
	    MAX_TEMPLATE_DEPTH);
	strcat(text, "\n{% if b %}");
	is_str(j2_try(text, "", "", "", ""), "E2:{% if b %}: more than 8 "
	    "{% if %} inside each other", "%d are not", MAX_TEMPLATE_DEPTH +
	    1);
	many = calloc(MAX_TEMPLATE_TAGS + 1, 7 + 1);
	for (i = 0; i < MAX_TEMPLATE_TAGS; i++)
		strcat(many + i * 7, "{{ a }}");
	ok(strncmp(j2_try(many, "x", "", "", ""), "xxx", 3) == 0,
	    "%d tags are fine", MAX_TEMPLATE_TAGS);
	strcat(many + i * 7, "{{ a }}");
	is_str(j2_try(many, "x", "", "", ""), "E1:{{ a }}: more than 4096 "
	    "tags", "%d are not", MAX_TEMPLATE_TAGS + 1);
	free(many);
}

/* A .j2 mail as a template of its kind: the variables of the kind, the
 * shape of a message, and where values are escaped. */
static void
jinja_mails(void)
{
	static const struct {
		enum tmpl_kind	 kind;
		const char	*text;
		const char	*why;	/* NULL: passes */
	} t[] = {
		{ TMPL_VERIFICATION_MAIL, "From: {{ from|safe }}\nTo: "
		    "{{ to|safe }}\nSubject: Hi\n\n{{ link|safe }} {{ token }} "
		    "{{ ipaddress }} {{ messageid }} {{ date }} "
		    "{{ multipart_boundary }} {{ brand }}\n", NULL },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n{{ lnik }}\n",
		    "3:{{ lnik }}: lnik is not one of: token link" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n{{ room_type }}\n",
		    "3:{{ room_type }}: room_type is not one of" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n\xff{{ link }}\n",
		    "3:not valid UTF-8" },
		{ TMPL_VERIFICATION_MAIL, "Hello {{ link }}\n\nbody\n",
		    "line 1, in the header, is not a header field" },
		{ TMPL_VERIFICATION_MAIL, "Subject: {{ link }}\n",
		    "no blank line after the headers" },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n{% for %}\n",
		    "3:{% for %}: for is not a statement" },
		/* The shape holds when every test passes, or else when every
		 * test fails. */
		{ TMPL_VERIFICATION_MAIL, "{% if brand == \"x\" %}Subject: A"
		    "{% else %}Subject: B{% endif %}\n\n{{ link }}\n", NULL },
		{ TMPL_VERIFICATION_MAIL, "{% if brand %}{% else %}Subject: B"
		    "{% endif %}\n\n{{ link }}\n", NULL },
		{ TMPL_VERIFICATION_MAIL, "Subject: B\n\n{% if brand %}"
		    "{% else %}x{% endif %}\n", NULL },
		{ TMPL_VERIFICATION_MAIL, "Subject: x\n\n{% if brand %}"
		    "{% endif %}\n", "an empty body" },
		{ TMPL_VERIFICATION_MAIL, "{% if brand %}Subject: x\n{% endif "
		    "%}Hello\n\nbody", "line 2, in the header, is not a "
		    "header field" },
		{ TMPL_INVITE_MAIL, "Subject: {{ subject_header_value|safe }}"
		    "\n\n{{ sender_display_name }} {{ bracketed_verified_sender "
		    "}}{% if room_type == \"m.space\" %}space{% else %}room"
		    "{% endif %} {{ bracketed_room_name }} {{ web_client_location "
		    "}}/#/room/{{ room_id|urlencode }}?email={{ to|urlencode }}"
		    "{{ token|urlencode }}{{ ephemeral_private_key|urlencode }}"
		    "{{ room_name|urlencode }}{{ room_avatar_url|urlencode }}"
		    "{{ guest_access_token|urlencode }}{{ guest_user_id|"
		    "urlencode }}{{ room_type|urlencode }} {{ sign_url }} "
		    "{{ join_link }} {{ sender }} {{ medium }} {{ address }} "
		    "{{ room_alias }} {{ room_join_rules }} "
		    "{{ sender_avatar_url }}\n", NULL },
		{ TMPL_INVITE_MAIL, "Subject: x\n\n{{ link }}\n",
		    "3:{{ link }}: link is not one of" },
		{ TMPL_INVITE_MAIL, "Subject: x\n\n"
		    "{{ org.matrix.web_client_location }}\n",
		    "3:{{ org.matrix.web_client_location }}: not in the subset" },
		{ TMPL_INVITE_MAIL, "Subject: x\n\n{{ org }}\n",
		    "3:{{ org }}: org is not one of" },
		{ TMPL_SMS, "Code {{ token }}", "only the mails" },
		{ TMPL_VERIFY_PAGE, "<p>{{ message }}</p>", "only the mails" },
	};
	const struct tmpl_var vars[] = {
		{ "to", "a@b.c" },
		{ "link", "https://x/?a=1&b=<2>" },
		{ "brand", "Q\"'" },
	};
	struct tmpl	*m;
	struct buf	 out = { 0 };
	char		 why[1024];
	size_t		 i, line;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		m = tmpl_compile(t[i].text, t[i].kind, 1, &line, why,
		    sizeof(why));
		check_is(m != NULL, line, why, t[i].why, "jinja mail", i);
		tmpl_destroy(m);
	}

	m = tmpl_compile("To: {{ to|safe }}\nX-Brand: {{ brand }}\n"
	    "X-Raw: {{ brand|safe }}\nContent-Type: multipart/alternative; "
	    "boundary=b\n\n--b\nContent-Type: text/plain\n\n{{ link|safe }} "
	    "{{ link }} {{ to|urlencode }}\n--b\nContent-Type: text/html; "
	    "charset=UTF-8\n\n<a href=\"{{ link }}\">{{ link|safe }}</a> "
	    "{{ brand|urlencode }}\n--b--\n", TMPL_VERIFICATION_MAIL, 1, &line,
	    why, sizeof(why));
	ok(m != NULL && m->j2 != NULL, "a multipart .j2 mail compiles");
	ok(tmpl_fill(m, vars, 3, &out) == 0, "and renders");
	is_str(buf_str(&out), "To: a@b.c\nX-Brand: Q&#34;&#39;\nX-Raw: Q\"'\n"
	    "Content-Type: multipart/alternative; boundary=b\n\n--b\n"
	    "Content-Type: text/plain\n\nhttps://x/?a=1&b=<2> "
	    "https://x/?a=1&amp;b=&lt;2&gt; a%40b.c\n--b\nContent-Type: "
	    "text/html; charset=UTF-8\n\n<a href=\"https://x/?a=1&amp;b="
	    "&lt;2&gt;\">https://x/?a=1&amp;b=&lt;2&gt;</a> Q%22%27\n--b--",
	    "escaped unless |safe, as Jinja2 with autoescape; |safe too in "
	    "a text/html part, once; the trailing newline dropped");
	buf_reset(&out);
	ok(tmpl_fill(m, vars, 2, &out) == -1, "a variable missing at "
	    "render: -1");
	tmpl_destroy(m);
	ok(tmpl_fill(NULL, vars, 3, &out) == -1, "no template: -1");
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
	is_str(tmpl_get(&set, "acme", TMPL_VERIFY_PAGE)->text, "<p>Acme</p>",
	    "a brand's own template");
	is_str(tmpl_get(&set, "acme", TMPL_VERIFICATION_MAIL)->text,
	    good_mail, "a file the brand lacks: the default's");
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

	/* A mail's .j2 file is used in place of the legacy one, in each
	 * brand; a page's is not read. */
	snprintf(sub, sizeof(sub), "%s/acme", dir);
	put_file(sub, "verification_template.eml.j2", "Subject: Acme\n\n"
	    "{% if brand == \"acme\" %}{{ link }}{% endif %}\n");
	put_file(sub, "verify_response_template.html.j2", "{% for %}");
	ok(tmpl_load(dir, "default", verify, &set, err, sizeof(err)) == 0,
	    "a brand with a .j2 mail loads%s%s", set.brands ? "" : ": ",
	    set.brands ? "" : err);
	{
		const struct tmpl_var	 v[] = { { "link", "<L>" },
					    { "brand", "acme" } };
		const struct tmpl	*m = tmpl_get(&set, "acme",
					    TMPL_VERIFICATION_MAIL);
		struct buf		 out = { 0 };

		ok(m != NULL && m->j2 != NULL && tmpl_fill(m, v, 2, &out) ==
		    0 && strcmp(buf_str(&out), "Subject: Acme\n\n&lt;L&gt;") ==
		    0, "the .j2 mail is the brand's (%s)", buf_str(&out));
		m = tmpl_get(&set, "default", TMPL_VERIFICATION_MAIL);
		ok(m != NULL && m->j2 == NULL, "the default's is still its "
		    "legacy one");
		buf_free(&out);
	}
	tmpl_free(&set);
	put_file(sub, "verification_template.eml.j2", "Subject: Acme\n\n"
	    "{% if brand == \"acme\" %}{{ link }}\n{% endfi %}\n");
	ok(tmpl_load(dir, "default", verify, &set, err, sizeof(err)) == -1 &&
	    strstr(err, "/acme/verification_template.eml.j2:4: {% endfi %}: "
	    "endfi is not a statement of the subset") != NULL,
	    "a .j2 fault stops the load with the file, line and construct "
	    "(%s)", err);
	tmpl_free(&set);
	snprintf(sub, sizeof(sub), "%s/acme/verification_template.eml.j2",
	    dir);
	unlink(sub);
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
	jinja_constructs();
	jinja_faults();
	jinja_mails();
	loading();
	return done_testing();
}
