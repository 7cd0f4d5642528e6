/*
 * Templates in sydent's syntaxes, so operators can bring theirs: the
 * legacy one, where %(name)s is the value, %(name_forhtml)s the value
 * HTML-escaped, %(name_forurl)s the value percent-encoded, %% a percent
 * sign; and, for the two mails, a file of the same name ending in .j2,
 * in the Jinja2 subset of j2.h, which is used in its place when present.
 * Templates are read and checked at start, only those a program uses,
 * and grouped by brand: a brand is a sub-folder of template_dir; a file a
 * brand lacks comes from the default.  No value can break a line of a
 * template, and values in HTML are always escaped.
 */
#ifndef SIGIL_TMPL_H
#define SIGIL_TMPL_H

#include <stddef.h>

struct buf;
struct j2;

/* The templates of a brand, one per use. */
enum tmpl_kind {
	TMPL_VERIFICATION_MAIL,		/* verification_template.eml */
	TMPL_VERIFY_PAGE,		/* verify_response_template.html */
	TMPL_SMS,			/* sms_template.txt */
	TMPL_INVITE_MAIL,		/* invite_template.eml */
	TMPL__MAX
};

/* The bit of a kind in the uses of tmpl_load. */
#define TMPL_USES(k)	(1u << (k))

struct tmpl_var {
	const char	*name;
	const char	*value;
};

/* A template file as loaded: its text, and its compiled form when it is
 * a .j2 file. */
struct tmpl {
	char		*text;
	struct j2	*j2;		/* NULL: the legacy syntax */
};

struct tmpl_brand {
	char		*name;
	struct tmpl	*t[TMPL__MAX];	/* NULL: use the default brand's */
};

struct tmpl_set {
	struct tmpl_brand	*brands;
	size_t			 nbrands;
	size_t			 fallback;	/* index of the default brand */
};

int	 tmpl_load(const char *, const char *, unsigned, struct tmpl_set *,
	    char *, size_t);
void	 tmpl_free(struct tmpl_set *);
const char *tmpl_brand(const struct tmpl_set *, const char *);
const struct tmpl *tmpl_get(const struct tmpl_set *, const char *,
	    enum tmpl_kind);
int	 tmpl_check(const char *, enum tmpl_kind);
int	 tmpl_validate(const char *, enum tmpl_kind, size_t *, char *,
	    size_t);
struct tmpl *tmpl_compile(const char *, enum tmpl_kind, int, size_t *,
	    char *, size_t);
void	 tmpl_destroy(struct tmpl *);
int	 tmpl_fill(const struct tmpl *, const struct tmpl_var *, size_t,
	    struct buf *);
int	 tmpl_render(const char *, const struct tmpl_var *, size_t,
	    struct buf *);
int	 tmpl_render_page(const struct tmpl *, const struct tmpl_var *,
	    size_t, struct buf *);
void	 buf_put_html(struct buf *, const char *);
size_t	 tmpl_line_breaker(const unsigned char *);
int	 tmpl_names_html(const char *);

/* The longest name of a variable. */
#define TMPL_MAX_NAME	64

#endif /* !SIGIL_TMPL_H */
