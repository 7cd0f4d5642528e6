/*
 * Templates in sydent's legacy syntax, so operators can bring theirs:
 * %(name)s is the value, %(name_forhtml)s the value HTML-escaped,
 * %(name_forurl)s the value percent-encoded, %% a percent sign.
 * Templates are read and checked at start, only those a program uses,
 * and grouped by brand: a brand is a sub-folder of template_dir; a file a
 * brand lacks comes from the default.  No value can break a line of a
 * template, and values in HTML are always escaped.
 */
#ifndef SIGIL_TMPL_H
#define SIGIL_TMPL_H

#include <stddef.h>

struct buf;

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

struct tmpl_brand {
	char	*name;
	char	*text[TMPL__MAX];	/* NULL: use the default brand's */
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
const char *tmpl_get(const struct tmpl_set *, const char *, enum tmpl_kind);
int	 tmpl_check(const char *, enum tmpl_kind);
int	 tmpl_validate(const char *, enum tmpl_kind, size_t *, char *,
	    size_t);
int	 tmpl_render(const char *, const struct tmpl_var *, size_t,
	    struct buf *);
int	 tmpl_render_page(const char *, const struct tmpl_var *, size_t,
	    struct buf *);
void	 buf_put_html(struct buf *, const char *);

#endif /* !SIGIL_TMPL_H */
