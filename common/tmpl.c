/*
 * Loading templates by brand, checking them, and filling them in.
 *
 * At start tmpl_load reads only the templates the program will use (the
 * uses bits), for a mail the .j2 file when the brand has one (compiled
 * by j2.c), and checks each one (tmpl_compile): valid UTF-8, every
 * placeholder well-formed and one its use offers (tmpl_names below), and,
 * rendered with sample values, a mail template is a message with headers
 * and a body, a text or page is not empty.  A fault stops the start with
 * the file and the reason, instead of failing every mail.
 *
 * Every value is made safe where it lands (tmpl_render): control
 * characters and Unicode line breaks become spaces, so that no value can
 * start a line (a header, a MIME boundary) in any template; a value in a
 * text/html part or page is HTML-escaped, whatever form the template
 * asked for; the _forurl form is percent-encoded.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bounds.h"
#include "buf.h"
#include "j2.h"
#include "json.h"
#include "tmpl.h"
#include "util.h"

#define TMPL_MAX_BRANDS	1000

static const char *const tmpl_files[TMPL__MAX] = {
	[TMPL_VERIFICATION_MAIL] = "verification_template.eml",
	[TMPL_VERIFY_PAGE] = "verify_response_template.html",
	[TMPL_SMS] = "sms_template.txt",
	[TMPL_INVITE_MAIL] = "invite_template.eml",
};

/* The variables each template may use, space-separated. */
static const char *const tmpl_names[TMPL__MAX] = {
	[TMPL_VERIFICATION_MAIL] = " token link ipaddress to from messageid "
	    "date multipart_boundary brand ",
	[TMPL_VERIFY_PAGE] = " message brand ",
	[TMPL_SMS] = " token brand ",
	/* The request's fields, what sigil computes, the mail's own; and
	 * (".*") any namespaced request field such as
	 * org.matrix.web_client_location, empty when the request has none. */
	[TMPL_INVITE_MAIL] = " medium address room_id sender room_alias "
	    "room_avatar_url room_join_rules room_name room_type "
	    "sender_display_name sender_avatar_url guest_user_id "
	    "guest_access_token token ephemeral_private_key "
	    "bracketed_room_name bracketed_verified_sender web_client_location "
	    "subject_header_value sign_url join_link to from messageid date "
	    "multipart_boundary brand .* ",
};

/* Appends s with & < > " ' replaced by entities. */
void
buf_put_html(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_putc(b, *s);
		}
}

/*
 * Returns how many bytes at s make a line break or control character a
 * value must not carry (a C0 control, DEL, U+0085 NEL, U+2028 LINE
 * SEPARATOR, U+2029 PARAGRAPH SEPARATOR), or 0.
 */
size_t
tmpl_line_breaker(const unsigned char *s)
{
	if (*s < 0x20 || *s == 0x7f)
		return 1;
	if (s[0] == 0xc2 && s[1] == 0x85)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
		return 3;
	return 0;
}

/*
 * Appends the value v as the template asked (form: 0 plain, 1 html, 2
 * url), HTML-escaped anyway when html is set; control characters and
 * line breaks become one space each.
 */
static void
put_value(struct buf *out, const char *v, int form, int html)
{
	char	 one[2] = { 0, 0 };
	size_t	 k;

	if (form == 2) {
		buf_put_urlencoded(out, v);
		return;
	}
	while (*v != '\0') {
		if ((k = tmpl_line_breaker((const unsigned char *)v)) > 0) {
			buf_putc(out, ' ');
			v += k;
			continue;
		}
		one[0] = *v++;
		if (form == 1 || html)
			buf_put_html(out, one);
		else
			buf_putc(out, one[0]);
	}
}

/* Why tmpl_walk stopped: the line, and the placeholder when it was
 * well-formed but refused by the callback. */
struct walk_err {
	size_t	 line;
	char	 name[TMPL_MAX_NAME + 1];
	int	 unknown;
};

/* 1 when c may be in a placeholder's name. */
static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/* 1 when the line at p (up to its end) names text/html, any case. */
int
tmpl_names_html(const char *p)
{
	for (; *p != '\0' && *p != '\n'; p++)
		if (strncasecmp(p, "text/html", 9) == 0)
			return 1;
	return 0;
}

/*
 * Walks the placeholders of text.  For each, calls back with the bare
 * name, the form (0 plain, 1 html, 2 url) and whether the value lands in
 * HTML: everywhere when page is set, else after a "Content-Type:" line
 * naming text/html and before the next "Content-Type:" line, outside the
 * message's own header (over-escaping is the safe side of the doubt).
 * Other text is appended to out when out is not NULL.  Returns 0, or -1
 * at a malformed placeholder or when the callback refuses, with e set.
 */
static int
tmpl_walk(const char *text, int page, struct buf *out,
    int (*cb)(void *, const char *, int, int, struct buf *), void *arg,
    struct walk_err *e)
{
	const char	*p, *q;
	size_t		 n;
	int		 form, html = 0, top = 1;

	memset(e, 0, sizeof(*e));
	e->line = 1;
	for (p = text; *p != '\0'; p++) {
		if (p == text || p[-1] == '\n') {
			if (strncasecmp(p, "Content-Type:", 13) == 0)
				html = tmpl_names_html(p);
			else if (*p == '\n' || (*p == '\r' && p[1] == '\n'))
				top = 0;
		}
		if (*p == '\n')
			e->line++;
		if (*p != '%') {
			if (out != NULL)
				buf_putc(out, *p);
			continue;
		}
		if (p[1] == '%') {
			if (out != NULL)
				buf_putc(out, '%');
			p++;
			continue;
		}
		if (p[1] != '(')
			return -1;
		for (q = p + 2; name_char(*q); q++)
			;
		n = (size_t)(q - (p + 2));
		if (*q != ')' || q[1] != 's' || n == 0 || n > TMPL_MAX_NAME)
			return -1;
		memcpy(e->name, p + 2, n);
		e->name[n] = '\0';
		form = 0;
		if (n > 8 && strcmp(e->name + n - 8, "_forhtml") == 0) {
			e->name[n - 8] = '\0';
			form = 1;
		} else if (n > 7 && strcmp(e->name + n - 7, "_forurl") == 0) {
			e->name[n - 7] = '\0';
			form = 2;
		}
		if (cb(arg, e->name, form, page || (html && !top), out) ==
		    -1) {
			e->unknown = 1;
			return -1;
		}
		p = q + 1;
	}
	return 0;
}

/* The callback of a check: 0 when name is one of the list arg. */
static int
check_name(void *arg, const char *name, int form, int html, struct buf *out)
{
	char	 word[TMPL_MAX_NAME + 3];

	(void)form;
	(void)html;
	(void)out;
	if (strchr(name, '.') != NULL && strstr(arg, " .* ") != NULL)
		return 0;
	snprintf(word, sizeof(word), " %s ", name);
	return strstr(arg, word) != NULL ? 0 : -1;
}

struct render {
	const struct tmpl_var	*vars;
	size_t			 n;
};

static int
put_var(void *arg, const char *name, int form, int html, struct buf *out)
{
	const struct render	*r = arg;
	size_t			 i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->vars[i].name, name) == 0)
			break;
	if (i == r->n)		/* a namespaced field not sent: empty */
		return strchr(name, '.') != NULL ? 0 : -1;
	put_value(out, r->vars[i].value, form, html);
	return 0;
}

/*
 * Checks that text is well-formed and uses only the variables of kind.
 * Returns 0 or -1.
 */
int
tmpl_check(const char *text, enum tmpl_kind kind)
{
	struct walk_err	 e;

	return tmpl_walk(text, 0, NULL, check_name, (void *)tmpl_names[kind],
	    &e);
}

static int
render(const char *text, int page, const struct tmpl_var *vars, size_t n,
    struct buf *out)
{
	struct render	 r = { vars, n };
	struct walk_err	 e;

	if (text == NULL)
		return -1;
	return tmpl_walk(text, page, out, put_var, &r, &e);
}

/*
 * Appends text with its placeholders filled from vars to out: a mail, a
 * text or a header value (see tmpl_walk for where values are
 * HTML-escaped).  Returns 0, or -1 when text is NULL or a placeholder
 * names no variable in vars (load-time checks make either a bug).
 */
int
tmpl_render(const char *text, const struct tmpl_var *vars, size_t n,
    struct buf *out)
{
	return render(text, 0, vars, n, out);
}

/*
 * As tmpl_render, for an HTML page (the verify page, never a .j2 file):
 * every value is HTML-escaped, whatever form the template asks for.
 * Returns 0, or -1 as tmpl_render.
 */
int
tmpl_render_page(const struct tmpl *t, const struct tmpl_var *vars,
    size_t n, struct buf *out)
{
	if (t == NULL || t->j2 != NULL)
		return -1;
	return render(t->text, 1, vars, n, out);
}

/*
 * Appends the loaded template t (a mail or a text, either syntax) filled
 * from vars to out.  Returns 0, or -1 as tmpl_render.
 */
int
tmpl_fill(const struct tmpl *t, const struct tmpl_var *vars, size_t n,
    struct buf *out)
{
	if (t == NULL)
		return -1;
	if (t->j2 != NULL)
		return j2_render(t->j2, vars, n, out);
	return render(t->text, 0, vars, n, out);
}

/* 1 when the line at p starts a header field: "Name:". */
static int
header_field(const char *p)
{
	const char	*q;

	for (q = p; (unsigned char)*q > ' ' && (unsigned char)*q < 0x7f &&
	    *q != ':'; q++)
		;
	return q > p && *q == ':';
}

/*
 * Checks that a rendered mail is a message: header fields (a field may
 * go on over lines that start with white space) from the first line, a
 * blank line, and a body that is not blank.  Returns 0, or -1 with the
 * reason in why.
 */
static int
mail_shape(const char *text, char *why, size_t whylen)
{
	const char	*p = text;
	size_t		 line = 1;

	if (*p == '\n' || (*p == '\r' && p[1] == '\n') || *p == '\0') {
		snprintf(why, whylen, "no header before the body (a mail "
		    "template is the whole message: headers, a blank line, "
		    "the body)");
		return -1;
	}
	for (;; line++) {
		if (*p == '\n' || (*p == '\r' && p[1] == '\n'))
			break;
		if (*p == '\0') {
			snprintf(why, whylen, "no blank line after the "
			    "headers, so no body");
			return -1;
		}
		if (!header_field(p) && !(line > 1 && (*p == ' ' ||
		    *p == '\t'))) {
			snprintf(why, whylen, "line %zu, in the header, is not "
			    "a header field (\"Name: value\")", line);
			return -1;
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	if (p[strspn(p, " \t\r\n")] == '\0') {
		snprintf(why, whylen, "an empty body");
		return -1;
	}
	return 0;
}

/*
 * Checks that every line of text is valid UTF-8.  Returns 0, or -1 with
 * the reason in why and the line in *at.
 */
static int
utf8_lines(const char *text, size_t *at, char *why, size_t whylen)
{
	const char	*p;
	size_t		 line = 1, len;

	for (p = text; *p != '\0'; line++) {
		len = strcspn(p, "\n");
		if (!json_utf8_valid((const unsigned char *)p, len)) {
			*at = line;
			snprintf(why, whylen, "not valid UTF-8");
			return -1;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

/*
 * Renders t with a sample value for every variable of kind, the branches
 * of a .j2 template taken as take says, and checks the result: a message
 * with headers and a body (mails), not empty (a text or page).  Returns
 * 0, or -1 with the reason in why.
 */
static int
sample_shape(const struct tmpl *t, enum tmpl_kind kind, enum j2_take take,
    char *why, size_t whylen)
{
	struct tmpl_var	 vars[40];
	char		*names, *word, *save = NULL;
	struct buf	 out = { 0 };
	size_t		 n = 0;
	int		 rc = -1;

	names = xstrdup(tmpl_names[kind]);
	for (word = strtok_r(names, " ", &save); word != NULL &&
	    n < sizeof(vars) / sizeof(vars[0]);
	    word = strtok_r(NULL, " ", &save))
		vars[n++] = (struct tmpl_var){ word, "sample" };
	if ((kind == TMPL_VERIFY_PAGE ? tmpl_render_page(t, vars, n, &out) :
	    t->j2 != NULL ? j2_render_taking(t->j2, vars, n, take, &out) :
	    tmpl_fill(t, vars, n, &out)) == -1) {
		snprintf(why, whylen, "does not render");
		goto out;
	}
	switch (kind) {
	case TMPL_VERIFICATION_MAIL:
	case TMPL_INVITE_MAIL:
		if (mail_shape(buf_str(&out), why, whylen) == -1)
			goto out;
		break;
	case TMPL_VERIFY_PAGE:
	case TMPL_SMS:
	case TMPL__MAX:
	default:
		if (out.len == 0 || buf_str(&out)[strspn(buf_str(&out),
		    " \t\r\n")] == '\0') {
			snprintf(why, whylen, "renders to nothing");
			goto out;
		}
		break;
	}
	rc = 0;
out:
	buf_free(&out);
	free(names);
	return rc;
}

/*
 * Checks a template of kind in the legacy syntax before use: valid
 * UTF-8, placeholders well-formed and known, and, rendered with a sample
 * value for every variable, a message with headers and a body (mails) or
 * not empty (a text or page).  Returns 0, or -1 with the reason in why
 * and the line of text it concerns in *at (0: the whole template).
 */
int
tmpl_validate(const char *text, enum tmpl_kind kind, size_t *at, char *why,
    size_t whylen)
{
	struct walk_err	 e;
	struct tmpl	 t = { (char *)text, NULL };

	*at = 0;
	if (utf8_lines(text, at, why, whylen) == -1)
		return -1;
	if (tmpl_walk(text, 0, NULL, check_name, (void *)tmpl_names[kind],
	    &e) == -1) {
		*at = e.line;
		if (e.unknown)
			snprintf(why, whylen, "%%(%s)s is not one of:%s",
			    e.name, tmpl_names[kind]);
		else
			snprintf(why, whylen, "a malformed placeholder "
			    "(%%(name)s, %%(name_forhtml)s or "
			    "%%(name_forurl)s; %%%% for a percent sign)");
		return -1;
	}
	return sample_shape(&t, kind, J2_TAKE_TESTS, why, whylen);
}

/*
 * Checks text as a template of kind, in the Jinja2 subset when jinja is
 * set (only the mails have one), else in the legacy syntax, and compiles
 * it.  Returns the template (tmpl_destroy it), or NULL with the reason in
 * why and the line of text it concerns in *at (0: the whole template).
 */
struct tmpl *
tmpl_compile(const char *text, enum tmpl_kind kind, int jinja, size_t *at,
    char *why, size_t whylen)
{
	struct tmpl	*t;
	char		*names, *dots, other[256];

	*at = 0;
	if (!jinja) {
		if (tmpl_validate(text, kind, at, why, whylen) == -1)
			return NULL;
		t = xcalloc(1, sizeof(*t));
		t->text = xstrdup(text);
		return t;
	}
	if (kind != TMPL_VERIFICATION_MAIL && kind != TMPL_INVITE_MAIL) {
		snprintf(why, whylen, "only the mails may be .j2 templates");
		return NULL;
	}
	if (utf8_lines(text, at, why, whylen) == -1)
		return NULL;
	/* A namespaced field is no variable in Jinja2 (a.b looks up b). */
	names = xstrdup(tmpl_names[kind]);
	if ((dots = strstr(names, " .* ")) != NULL)
		memmove(dots, dots + 3, strlen(dots + 3) + 1);
	t = xcalloc(1, sizeof(*t));
	t->text = xstrdup(text);
	t->j2 = j2_compile(text, names, at, why, whylen);
	free(names);
	/* The message is whole at least when every {% if %} takes its
	 * first branch, or else when every one takes its last. */
	if (t->j2 == NULL || (sample_shape(t, kind, J2_TAKE_FIRST, why,
	    whylen) == -1 && sample_shape(t, kind, J2_TAKE_LAST, other,
	    sizeof(other)) == -1)) {
		tmpl_destroy(t);
		return NULL;
	}
	return t;
}

/* Frees t (NULL is fine). */
void
tmpl_destroy(struct tmpl *t)
{
	if (t == NULL)
		return;
	j2_free(t->j2);
	free(t->text);
	free(t);
}

/*
 * Reads the file at path.  Returns its text (the caller frees it), NULL
 * when there is no such file, or (char *)-1 with the reason in err.
 */
static char *
read_file(const char *path, char *err, size_t errlen)
{
	FILE	*f;
	char	*text;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	text = xmalloc(MAX_TEMPLATE + 1);
	n = fread(text, 1, MAX_TEMPLATE, f);
	if (ferror(f) || n == MAX_TEMPLATE || memchr(text, '\0', n)) {
		snprintf(err, errlen, "%s: unreadable, too large or binary",
		    path);
		fclose(f);
		free(text);
		return (char *)-1;
	}
	fclose(f);
	text[n] = '\0';
	return text;
}

static int
brand_name_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > TMPL_MAX_NAME || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

/*
 * Reads and checks the templates of the brand folder dir/name that uses
 * names into b: for a mail, the .j2 file when there is one, else the
 * legacy one.  Returns 0, or -1 with the file and the reason in err.
 */
static int
brand_load(const char *dir, const char *name, unsigned uses,
    struct tmpl_brand *b, char *err, size_t errlen)
{
	char	 path[4096], *text, why[1024];
	size_t	 line;
	int	 k, jinja;

	b->name = xstrdup(name);
	for (k = 0; k < TMPL__MAX; k++) {
		if (!(uses & TMPL_USES(k)))
			continue;
		err[0] = '\0';
		text = NULL;
		jinja = k == TMPL_VERIFICATION_MAIL || k == TMPL_INVITE_MAIL;
		if (jinja) {
			snprintf(path, sizeof(path), "%s/%s/%s.j2", dir, name,
			    tmpl_files[k]);
			if ((text = read_file(path, err, errlen)) ==
			    (char *)-1)
				return -1;
		}
		if (text == NULL) {
			jinja = 0;
			snprintf(path, sizeof(path), "%s/%s/%s", dir, name,
			    tmpl_files[k]);
			if ((text = read_file(path, err, errlen)) ==
			    (char *)-1)
				return -1;
		}
		if (text == NULL)
			continue;
		b->t[k] = tmpl_compile(text, (enum tmpl_kind)k, jinja, &line,
		    why, sizeof(why));
		free(text);
		if (b->t[k] == NULL) {
			if (line > 0)
				snprintf(err, errlen, "template %s:%zu: %s",
				    path, line, why);
			else
				snprintf(err, errlen, "template %s: %s", path,
				    why);
			return -1;
		}
	}
	return 0;
}

/* 1 when dir/name is a folder. */
static int
is_dir(const char *dir, const char *name)
{
	char		 path[4096];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Loads the templates of the kinds in uses (TMPL_USES bits) of every
 * brand under dir, checking each; fallback names the default brand, which
 * must have every one of them.  Templates of other kinds are not read.
 * Returns 0, or -1 with the file and the reason in err (set may then
 * hold part of the templates: tmpl_free it).
 */
int
tmpl_load(const char *dir, const char *fallback, unsigned uses,
    struct tmpl_set *set, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 i;
	int		 found = 0, k;

	memset(set, 0, sizeof(*set));
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "template_dir %s: cannot open", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!brand_name_valid(e->d_name) || !is_dir(dir, e->d_name))
			continue;
		if (set->nbrands == TMPL_MAX_BRANDS) {
			snprintf(err, errlen, "template_dir %s: more than %d "
			    "brand folders", dir, TMPL_MAX_BRANDS);
			closedir(d);
			return -1;
		}
		set->brands = xreallocarray(set->brands, set->nbrands + 1,
		    sizeof(*set->brands));
		memset(&set->brands[set->nbrands], 0, sizeof(*set->brands));
		if (brand_load(dir, e->d_name, uses,
		    &set->brands[set->nbrands++], err, errlen) == -1) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	for (i = 0; i < set->nbrands; i++)
		if (strcmp(set->brands[i].name, fallback) == 0) {
			set->fallback = i;
			found = 1;
		}
	if (!found) {
		snprintf(err, errlen, "template_dir %s: no folder for the "
		    "default brand \"%s\"", dir, fallback);
		return -1;
	}
	for (k = 0; k < TMPL__MAX; k++)
		if ((uses & TMPL_USES(k)) &&
		    set->brands[set->fallback].t[k] == NULL) {
			snprintf(err, errlen, "template_dir %s/%s: %s is "
			    "missing", dir, fallback, tmpl_files[k]);
			return -1;
		}
	return 0;
}

/* Frees every template; set is zeroed. */
void
tmpl_free(struct tmpl_set *set)
{
	size_t	 i;
	int	 k;

	if (set->brands == NULL)
		return;
	for (i = 0; i < set->nbrands; i++) {
		free(set->brands[i].name);
		for (k = 0; k < TMPL__MAX; k++)
			tmpl_destroy(set->brands[i].t[k]);
	}
	free(set->brands);
	memset(set, 0, sizeof(*set));
}

/*
 * Returns the brand a request gets for the ?brand= value requested: the
 * name of a loaded brand folder equal to it, else (NULL, unknown, "../x"
 * and the like) the default brand's.  Borrowed from set; a brand folder's
 * name is at most TMPL_MAX_NAME bytes of [A-Za-z0-9._-], so it is safe
 * in a header, a path and a page.
 */
const char *
tmpl_brand(const struct tmpl_set *set, const char *requested)
{
	size_t	 i;

	if (requested != NULL)
		for (i = 0; i < set->nbrands; i++)
			if (strcmp(set->brands[i].name, requested) == 0)
				return set->brands[i].name;
	return set->brands[set->fallback].name;
}

/*
 * Returns the template of kind for brand (NULL or unknown: the default
 * brand's; a file the brand lacks: the default brand's), borrowed from
 * set; NULL when kind was not loaded.
 */
const struct tmpl *
tmpl_get(const struct tmpl_set *set, const char *brand, enum tmpl_kind kind)
{
	size_t	 i;

	if (set->brands == NULL)
		return NULL;
	if (brand != NULL)
		for (i = 0; i < set->nbrands; i++)
			if (strcmp(set->brands[i].name, brand) == 0 &&
			    set->brands[i].t[kind] != NULL)
				return set->brands[i].t[kind];
	return set->brands[set->fallback].t[kind];
}
