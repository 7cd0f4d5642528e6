/*
 * The Jinja2 subset of mail templates (see j2.h): compiling a template
 * into operations, checking it on the way, and rendering it.
 *
 * Compiling reads the text once.  Text between tags becomes a TEXT
 * operation (a slice of the kept source); {{ }} a VALUE; {% if %} and
 * {% elif %} a TEST that jumps past its branch when false; {% elif %} and
 * {% else %} start with a JUMP to the {% endif %}.  Anything outside the
 * subset, a variable the use does not offer, a tag left open or an
 * {% if %} without {% endif %} stops the compile with the line and the
 * construct.
 *
 * Rendering makes every value safe where it lands, as tmpl.c does for
 * the legacy syntax: control characters and Unicode line breaks become
 * spaces (no value starts a header or a MIME boundary); a value is
 * HTML-escaped unless |safe, and in a text/html part even then;
 * |urlencode percent-encodes all but A-Z a-z 0-9 _ . - ~ and /.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "buf.h"
#include "j2.h"
#include "tmpl.h"
#include "util.h"

#define J2_NONE		SIZE_MAX	/* no operation */
#define J2_QUOTE_MAX	60		/* bytes of a tag quoted in an error */

enum j2_opkind {
	J2_TEXT,		/* append src[off, off + len) */
	J2_VALUE,		/* append the variable src[off, off + len) */
	J2_TEST,		/* if the test fails, go to target */
	J2_JUMP			/* go to target */
};

/* How a value is written: escaped, |safe, |urlencode. */
enum j2_form {
	J2_ESCAPED,
	J2_SAFE,
	J2_URL
};

/* What a TEST asks of its variable. */
enum j2_cmp {
	J2_NONEMPTY,		/* {% if name %} */
	J2_EMPTY,		/* {% if not name %} */
	J2_EQ,			/* {% if name == "s" %} */
	J2_NE			/* {% if name != "s" %} */
};

struct j2_op {
	enum j2_opkind	 kind;
	size_t		 off, len;	/* TEXT: text; VALUE, TEST: name */
	size_t		 soff, slen;	/* TEST J2_EQ, J2_NE: the string */
	enum j2_form	 form;		/* VALUE */
	int		 html;		/* VALUE: in a text/html part */
	enum j2_cmp	 cmp;		/* TEST */
	size_t		 target;	/* TEST, JUMP */
};

struct j2 {
	char		*src;		/* the template, owned */
	struct j2_op	*ops;
	size_t		 nops;
};

/* An {% if %} being compiled. */
struct j2_frame {
	size_t		 test;		/* its last TEST, J2_NONE after else */
	size_t		 jumps;		/* chain of JUMPs to the endif */
	size_t		 line;
	int		 seen_else;
};

/* The state of a compile. */
struct j2_cc {
	struct j2	*t;
	size_t		 cap;
	const char	*names;		/* " a b c ": the variables offered */
	size_t		 line;		/* of the tag being compiled */
	size_t		 tag, tagend;	/* the tag: src[tag, tagend) */
	size_t		 ntags;
	char		*why;
	size_t		 whylen;
	struct j2_frame	 stack[MAX_TEMPLATE_DEPTH];
	size_t		 depth;
	size_t		 scanned;	/* source read for lines and parts */
	int		 html, top;
};

enum j2_tok {
	J2T_END,
	J2T_NAME,
	J2T_STRING,		/* off, len: between the quotes */
	J2T_PIPE,
	J2T_EQ,
	J2T_NE,
	J2T_OTHER
};

struct j2_lex {
	const char	*src;
	size_t		 p, e;
	size_t		 off, len;	/* the last token */
};

/* 1 when c may start a name; j2_name_char: may go on one. */
static int
j2_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
j2_name_char(char c)
{
	return j2_name_start(c) || (c >= '0' && c <= '9');
}

static int
j2_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* Returns the next token of a tag's inside. */
static enum j2_tok
j2_next(struct j2_lex *l)
{
	const char	*s = l->src;
	size_t		 q;

	while (l->p < l->e && j2_space(s[l->p]))
		l->p++;
	l->off = l->p;
	l->len = 0;
	if (l->p >= l->e)
		return J2T_END;
	if (j2_name_start(s[l->p])) {
		while (l->p < l->e && j2_name_char(s[l->p]))
			l->p++;
		l->len = l->p - l->off;
		return J2T_NAME;
	}
	if (s[l->p] == '"' || s[l->p] == '\'') {
		for (q = l->p + 1; q < l->e && s[q] != s[l->p] &&
		    s[q] != '\\'; q++)
			;
		if (q >= l->e || s[q] == '\\')	/* open, or an escape */
			return J2T_OTHER;
		l->off = l->p + 1;
		l->len = q - l->off;
		l->p = q + 1;
		return J2T_STRING;
	}
	if (s[l->p] == '|') {
		l->p++;
		return J2T_PIPE;
	}
	if (l->p + 1 < l->e && s[l->p + 1] == '=' && (s[l->p] == '=' ||
	    s[l->p] == '!')) {
		l->p += 2;
		return s[l->p - 2] == '=' ? J2T_EQ : J2T_NE;
	}
	return J2T_OTHER;
}

/* 1 when the last token is the word w. */
static int
j2_is(const struct j2_lex *l, const char *w)
{
	return l->len == strlen(w) && memcmp(l->src + l->off, w, l->len) == 0;
}

/*
 * Sets the reason of a failed compile: the tag as written (its first line,
 * cut), then the printf-style rest.  Returns -1.
 */
static int
j2_fail(struct j2_cc *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
j2_fail(struct j2_cc *cc, const char *fmt, ...)
{
	va_list		 ap;
	const char	*tag = cc->t->src + cc->tag;
	size_t		 n = cc->tagend - cc->tag, w;
	int		 cut = 0;

	w = strcspn(tag, "\r\n");
	if (w < n) {
		n = w;
		cut = 1;
	}
	if (n > J2_QUOTE_MAX) {
		n = J2_QUOTE_MAX;
		cut = 1;
	}
	w = (size_t)snprintf(cc->why, cc->whylen, "%.*s%s: ", (int)n, tag,
	    cut ? "..." : "");
	if (w < cc->whylen) {
		va_start(ap, fmt);
		vsnprintf(cc->why + w, cc->whylen - w, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Appends an operation; returns its index. */
static size_t
j2_emit(struct j2_cc *cc, const struct j2_op *op)
{
	struct j2	*t = cc->t;

	if (t->nops == cc->cap) {
		cc->cap = cc->cap == 0 ? 16 : cc->cap * 2;
		t->ops = xreallocarray(t->ops, cc->cap, sizeof(*t->ops));
	}
	t->ops[t->nops] = *op;
	return t->nops++;
}

/*
 * Reads the source up to end, outside tags when text is set: counts its
 * lines and follows the message's parts as tmpl.c does for the legacy
 * syntax (a "Content-Type:" line naming text/html starts HTML, another
 * ends it; the first blank line ends the message's own header).
 */
static void
j2_scan(struct j2_cc *cc, size_t end, int text)
{
	const char	*s = cc->t->src;
	size_t		 i;

	for (i = cc->scanned; i < end; i++) {
		if (text && (i == 0 || s[i - 1] == '\n')) {
			if (strncasecmp(s + i, "Content-Type:", 13) == 0)
				cc->html = tmpl_names_html(s + i);
			else if (s[i] == '\n' || (s[i] == '\r' &&
			    s[i + 1] == '\n'))
				cc->top = 0;
		}
		if (s[i] == '\n')
			cc->line++;
	}
	cc->scanned = end;
}

/* Appends the text src[b, e), its white space cut at the start when
 * lstrip is set, at the end when rstrip is. */
static void
j2_text(struct j2_cc *cc, size_t b, size_t e, int lstrip, int rstrip)
{
	const char	*s = cc->t->src;
	struct j2_op	 op = { .kind = J2_TEXT };

	while (lstrip && b < e && j2_space(s[b]))
		b++;
	while (rstrip && e > b && j2_space(s[e - 1]))
		e--;
	if (e == b)
		return;
	op.off = b;
	op.len = e - b;
	j2_emit(cc, &op);
}

/*
 * Checks that the last token names a variable the template may use.
 * Returns 0 or -1.
 */
static int
j2_known(struct j2_cc *cc, const struct j2_lex *l)
{
	char	 word[TMPL_MAX_NAME + 3];

	if (l->len <= TMPL_MAX_NAME) {
		snprintf(word, sizeof(word), " %.*s ", (int)l->len,
		    l->src + l->off);
		if (strstr(cc->names, word) != NULL)
			return 0;
	}
	return j2_fail(cc, "%.*s is not one of:%s", (int)l->len,
	    l->src + l->off, cc->names);
}

/* {{ name|filter|... }}: compiles the inside src[b, e).  Returns 0 or -1. */
static int
j2_value(struct j2_cc *cc, size_t b, size_t e)
{
	struct j2_lex	 l = { cc->t->src, b, e, 0, 0 }, name;
	struct j2_op	 op = { .kind = J2_VALUE, .html = cc->html &&
			    !cc->top };
	int		 safe = 0, url = 0;
	enum j2_tok	 tok;

	if ((tok = j2_next(&l)) == J2T_END)
		return j2_fail(cc, "an empty {{ }}");
	if (tok != J2T_NAME)
		goto other;
	name = l;
	op.off = l.off;
	op.len = l.len;
	while ((tok = j2_next(&l)) != J2T_END) {
		if (tok != J2T_PIPE || j2_next(&l) != J2T_NAME)
			goto other;
		if (j2_is(&l, "safe"))
			safe = 1;
		else if (j2_is(&l, "urlencode"))
			url = 1;
		else
			return j2_fail(cc, "the filter %.*s is not known "
			    "(|safe and |urlencode are)", (int)l.len,
			    l.src + l.off);
	}
	if (j2_known(cc, &name) == -1)
		return -1;
	op.form = url ? J2_URL : safe ? J2_SAFE : J2_ESCAPED;
	j2_emit(cc, &op);
	return 0;
other:
	return j2_fail(cc, "not in the subset: {{ }} holds a variable's name, "
	    "with |safe or |urlencode");
}

/*
 * The test of {% if %} or {% elif %} from the lexer on: appends its
 * TEST.  Returns the TEST's index, or J2_NONE.
 */
static size_t
j2_test(struct j2_cc *cc, struct j2_lex *l)
{
	struct j2_op	 op = { .kind = J2_TEST, .cmp = J2_NONEMPTY,
			    .target = J2_NONE };
	struct j2_lex	 name;
	enum j2_tok	 tok;

	tok = j2_next(l);
	if (tok == J2T_NAME && j2_is(l, "not")) {
		op.cmp = J2_EMPTY;
		tok = j2_next(l);
	}
	if (tok != J2T_NAME)
		goto other;
	name = *l;
	op.off = l->off;
	op.len = l->len;
	tok = j2_next(l);
	if ((tok == J2T_EQ || tok == J2T_NE) && op.cmp == J2_NONEMPTY) {
		op.cmp = tok == J2T_EQ ? J2_EQ : J2_NE;
		if (j2_next(l) != J2T_STRING)
			goto other;
		op.soff = l->off;
		op.slen = l->len;
		tok = j2_next(l);
	}
	if (tok != J2T_END)
		goto other;
	if (j2_known(cc, &name) == -1)
		return J2_NONE;
	return j2_emit(cc, &op);
other:
	j2_fail(cc, "not in the subset: a test is name, not name, "
	    "name == \"text\" or name != \"text\"");
	return J2_NONE;
}

/* Points the pending TEST of f, if any, at the next operation. */
static void
j2_land(struct j2_cc *cc, struct j2_frame *f)
{
	if (f->test != J2_NONE)
		cc->t->ops[f->test].target = cc->t->nops;
	f->test = J2_NONE;
}

/* {% elif %} and {% else %}: the branch before jumps to the endif. */
static void
j2_branch(struct j2_cc *cc, struct j2_frame *f)
{
	struct j2_op	 op = { .kind = J2_JUMP, .target = f->jumps };

	f->jumps = j2_emit(cc, &op);
	j2_land(cc, f);
}

/* {% ... %}: compiles the inside src[b, e).  Returns 0 or -1. */
static int
j2_block(struct j2_cc *cc, size_t b, size_t e)
{
	struct j2_lex	 l = { cc->t->src, b, e, 0, 0 };
	struct j2_frame	*f = cc->depth > 0 ? &cc->stack[cc->depth - 1] :
			    NULL;
	size_t		 i, next;

	if (j2_next(&l) != J2T_NAME)
		return j2_fail(cc, "not a statement of the subset (if, elif, "
		    "else, endif)");
	if (j2_is(&l, "if")) {
		if (cc->depth == MAX_TEMPLATE_DEPTH)
			return j2_fail(cc, "more than %d {%% if %%} inside "
			    "each other", MAX_TEMPLATE_DEPTH);
		f = &cc->stack[cc->depth];
		*f = (struct j2_frame){ J2_NONE, J2_NONE, cc->line, 0 };
		if ((f->test = j2_test(cc, &l)) == J2_NONE)
			return -1;
		cc->depth++;
		return 0;
	}
	if (j2_is(&l, "elif") || j2_is(&l, "else")) {
		if (f == NULL)
			return j2_fail(cc, "no {%% if %%} before it");
		if (f->seen_else)
			return j2_fail(cc, "after the {%% else %%} of the "
			    "{%% if %%} of line %zu", f->line);
		j2_branch(cc, f);
		if (j2_is(&l, "elif"))
			return (f->test = j2_test(cc, &l)) == J2_NONE ? -1 : 0;
		f->seen_else = 1;
		if (j2_next(&l) != J2T_END)
			return j2_fail(cc, "not in the subset: {%% else %%} "
			    "takes nothing");
		return 0;
	}
	if (j2_is(&l, "endif")) {
		if (f == NULL)
			return j2_fail(cc, "no {%% if %%} before it");
		if (j2_next(&l) != J2T_END)
			return j2_fail(cc, "not in the subset: {%% endif %%} "
			    "takes nothing");
		j2_land(cc, f);
		for (i = f->jumps; i != J2_NONE; i = next) {
			next = cc->t->ops[i].target;
			cc->t->ops[i].target = cc->t->nops;
		}
		cc->depth--;
		return 0;
	}
	return j2_fail(cc, "%.*s is not a statement of the subset (if, elif, "
	    "else, endif)", (int)l.len, l.src + l.off);
}

/*
 * Returns where the tag opened at src[q] ("{{", "{%" or "{#") closes (the
 * index of its "}}", "%}" or "#}"), quoted strings skipped, or J2_NONE.
 */
static size_t
j2_close(const char *s, size_t q, size_t len)
{
	char	 end = s[q + 1] == '{' ? '}' : s[q + 1];
	char	 quote = 0;
	size_t	 i;

	for (i = q + 2; i + 1 < len; i++) {
		if (quote != 0) {
			if (s[i] == '\\')
				i++;	/* refused later, but not an end */
			else if (s[i] == quote)
				quote = 0;
		} else if (end != '#' && (s[i] == '"' || s[i] == '\''))
			quote = s[i];
		else if (s[i] == end && s[i + 1] == '}')
			return i;
	}
	return J2_NONE;
}

/*
 * Compiles text, a template that may use the variables in names (" a b
 * c ").  Returns the compiled template (j2_free it), or NULL with the
 * reason in why and its line in *at.
 */
struct j2 *
j2_compile(const char *text, const char *names, size_t *at, char *why,
    size_t whylen)
{
	struct j2_cc	 cc;
	const char	*s, *open;
	size_t		 len, p = 0, q, close, b, e;
	int		 lstrip = 0, rc;

	memset(&cc, 0, sizeof(cc));
	cc.t = xcalloc(1, sizeof(*cc.t));
	cc.t->src = xstrdup(text);
	cc.names = names;
	cc.line = 1;
	cc.top = 1;
	cc.why = why;
	cc.whylen = whylen;
	s = cc.t->src;
	/* The environment keeps no trailing newline. */
	len = strlen(s);
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	while (p < len) {
		for (q = p; (open = memchr(s + q, '{', len - q)) != NULL;
		    q++) {
			q = (size_t)(open - s);
			if (q + 1 < len && (s[q + 1] == '{' ||
			    s[q + 1] == '%' || s[q + 1] == '#'))
				break;
		}
		if (open == NULL)
			q = len;
		j2_text(&cc, p, q, lstrip, q + 2 < len && s[q + 2] == '-');
		if (q == len)
			break;
		j2_scan(&cc, q, 1);
		cc.tag = q;
		cc.tagend = len;
		if ((close = j2_close(s, q, len)) == J2_NONE) {
			j2_fail(&cc, "no %s to close it", s[q + 1] == '{' ?
			    "}}" : s[q + 1] == '%' ? "%}" : "#}");
			goto fail;
		}
		cc.tagend = close + 2;
		if (++cc.ntags > MAX_TEMPLATE_TAGS) {
			j2_fail(&cc, "more than %d tags", MAX_TEMPLATE_TAGS);
			goto fail;
		}
		b = q + 2;
		if (b < close && s[b] == '-')
			b++;
		e = close;
		lstrip = e > b && s[e - 1] == '-';
		if (lstrip)
			e--;
		if (s[q + 1] == '{')
			rc = j2_value(&cc, b, e);
		else if (s[q + 1] == '%')
			rc = j2_block(&cc, b, e);
		else
			rc = 0;
		if (rc == -1)
			goto fail;
		j2_scan(&cc, close + 2, 0);
		p = close + 2;
	}
	if (cc.depth > 0) {
		cc.line = cc.stack[cc.depth - 1].line;
		snprintf(why, whylen, "{%% if %%} without {%% endif %%}");
		goto fail;
	}
	*at = 0;
	return cc.t;
fail:
	*at = cc.line;
	j2_free(cc.t);
	return NULL;
}

/* Frees t (NULL is fine). */
void
j2_free(struct j2 *t)
{
	if (t == NULL)
		return;
	free(t->ops);
	free(t->src);
	free(t);
}

/* The value of the variable src[off, off + len), or NULL. */
static const char *
j2_lookup(const struct j2 *t, size_t off, size_t len,
    const struct tmpl_var *vars, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strlen(vars[i].name) == len &&
		    memcmp(vars[i].name, t->src + off, len) == 0)
			return vars[i].value;
	return NULL;
}

/* Appends v in form, HTML-escaped also when html is set. */
static void
j2_put(struct buf *out, const char *v, enum j2_form form, int html)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)v;
	size_t			 k;

	for (; *p != '\0'; p++) {
		if (form == J2_URL) {
			if (j2_name_char((char)*p) || *p == '.' || *p == '-' ||
			    *p == '~' || *p == '/')
				buf_putc(out, (char)*p);
			else {
				buf_putc(out, '%');
				buf_putc(out, hex[*p >> 4]);
				buf_putc(out, hex[*p & 0xf]);
			}
			continue;
		}
		if ((k = tmpl_line_breaker(p)) > 0) {
			buf_putc(out, ' ');
			p += k - 1;
			continue;
		}
		if (form == J2_SAFE && !html) {
			buf_putc(out, (char)*p);
			continue;
		}
		switch (*p) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		case '"':
			buf_puts(out, "&#34;");
			break;
		case '\'':
			buf_puts(out, "&#39;");
			break;
		default:
			buf_putc(out, (char)*p);
		}
	}
}

/*
 * Appends t rendered with vars to out, each test deciding as it asks
 * (take J2_TAKE_TESTS), or every test passing (J2_TAKE_FIRST: the first
 * branch of each {% if %}) or failing (J2_TAKE_LAST).  Returns 0, or -1
 * when t is NULL or uses a variable vars lacks (the compile's check makes
 * either a bug).
 */
int
j2_render_taking(const struct j2 *t, const struct tmpl_var *vars, size_t n,
    enum j2_take take, struct buf *out)
{
	const struct j2_op	*op;
	const char		*v;
	size_t			 pc = 0;
	int			 pass;

	if (t == NULL)
		return -1;
	while (pc < t->nops) {
		op = &t->ops[pc];
		v = NULL;
		if ((op->kind == J2_VALUE || op->kind == J2_TEST) &&
		    (v = j2_lookup(t, op->off, op->len, vars, n)) == NULL)
			return -1;
		switch (op->kind) {
		case J2_TEXT:
			buf_append(out, t->src + op->off, op->len);
			pc++;
			break;
		case J2_VALUE:
			j2_put(out, v, op->form, op->html);
			pc++;
			break;
		case J2_TEST:
			switch (op->cmp) {
			case J2_EMPTY:
				pass = *v == '\0';
				break;
			case J2_EQ:
			case J2_NE:
				pass = (strlen(v) == op->slen && memcmp(v,
				    t->src + op->soff, op->slen) == 0) ==
				    (op->cmp == J2_EQ);
				break;
			case J2_NONEMPTY:
			default:
				pass = *v != '\0';
				break;
			}
			if (take != J2_TAKE_TESTS)
				pass = take == J2_TAKE_FIRST;
			pc = pass ? pc + 1 : op->target;
			break;
		case J2_JUMP:
		default:
			pc = op->target;
			break;
		}
	}
	return 0;
}

/* j2_render_taking() with every test deciding. */
int
j2_render(const struct j2 *t, const struct tmpl_var *vars, size_t n,
    struct buf *out)
{
	return j2_render_taking(t, vars, n, J2_TAKE_TESTS, out);
}
