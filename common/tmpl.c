/*
 * Loading templates by brand and filling them in.  Each template is
 * checked at load: every placeholder must name a variable its use offers
 * (tmpl_names below), so a typo stops the start, not a mail.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"
#include "util.h"

#define TMPL_MAX_FILE	(256 * 1024)
#define TMPL_MAX_NAME	64

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
 * Walks the placeholders of text.  For each, calls back with the bare
 * name and the form (0 plain, 1 html, 2 url); for other text, appends
 * to out when out is not NULL.  Returns 0, or -1 at a malformed
 * placeholder or when the callback refuses, with *line set.
 */
static int
tmpl_walk(const char *text, struct buf *out,
    int (*cb)(void *, const char *, int, struct buf *), void *arg,
    size_t *line)
{
	const char	*p = text, *close;
	char		 name[TMPL_MAX_NAME + 1];
	size_t		 n;
	int		 form;

	*line = 1;
	for (; *p != '\0'; p++) {
		if (*p == '\n')
			(*line)++;
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
		if (p[1] != '(' || (close = strchr(p + 2, ')')) == NULL ||
		    close[1] != 's')
			return -1;
		n = (size_t)(close - (p + 2));
		if (n == 0 || n > TMPL_MAX_NAME)
			return -1;
		memcpy(name, p + 2, n);
		name[n] = '\0';
		form = 0;
		if (n > 8 && strcmp(name + n - 8, "_forhtml") == 0) {
			name[n - 8] = '\0';
			form = 1;
		} else if (n > 7 && strcmp(name + n - 7, "_forurl") == 0) {
			name[n - 7] = '\0';
			form = 2;
		}
		if (cb(arg, name, form, out) == -1)
			return -1;
		p = close + 1;
	}
	return 0;
}

static int
check_name(void *arg, const char *name, int form, struct buf *out)
{
	char	 word[TMPL_MAX_NAME + 3];

	(void)form;
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
put_var(void *arg, const char *name, int form, struct buf *out)
{
	const struct render	*r = arg;
	size_t			 i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->vars[i].name, name) == 0)
			break;
	if (i == r->n)		/* a namespaced field not sent: empty */
		return strchr(name, '.') != NULL ? 0 : -1;
	if (form == 1)
		buf_put_html(out, r->vars[i].value);
	else if (form == 2)
		buf_put_urlencoded(out, r->vars[i].value);
	else
		buf_puts(out, r->vars[i].value);
	return 0;
}

/*
 * Checks that text is well-formed and uses only the variables of kind.
 * Returns 0 or -1.
 */
int
tmpl_check(const char *text, enum tmpl_kind kind)
{
	size_t	 line;

	return tmpl_walk(text, NULL, check_name, (void *)tmpl_names[kind],
	    &line);
}

/*
 * Appends text with its placeholders filled from vars to out.  Returns 0,
 * or -1 when a placeholder names no variable in vars (load-time checks
 * make that a bug).
 */
int
tmpl_render(const char *text, const struct tmpl_var *vars, size_t n,
    struct buf *out)
{
	struct render	 r = { vars, n };
	size_t		 line;

	return tmpl_walk(text, out, put_var, &r, &line);
}

static char *
read_file(const char *path, char *err, size_t errlen)
{
	FILE	*f;
	char	*text;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	text = xmalloc(TMPL_MAX_FILE + 1);
	n = fread(text, 1, TMPL_MAX_FILE, f);
	if (ferror(f) || n == TMPL_MAX_FILE || memchr(text, '\0', n)) {
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

static int
brand_load(const char *dir, const char *name, struct tmpl_brand *b, char *err,
    size_t errlen)
{
	char	 path[4096], *text;
	size_t	 line;
	int	 k;

	b->name = xstrdup(name);
	for (k = 0; k < TMPL__MAX; k++) {
		snprintf(path, sizeof(path), "%s/%s/%s", dir, name,
		    tmpl_files[k]);
		err[0] = '\0';
		if ((text = read_file(path, err, errlen)) == (char *)-1)
			return -1;
		if (text == NULL)
			continue;
		if (tmpl_walk(text, NULL, check_name,
		    (void *)tmpl_names[k], &line) == -1) {
			snprintf(err, errlen, "%s:%zu: a placeholder that is "
			    "malformed or not one of:%s", path, line,
			    tmpl_names[k]);
			free(text);
			return -1;
		}
		b->text[k] = text;
	}
	return 0;
}

/*
 * Loads every brand under dir; fallback names the default brand, which
 * must have every template.  Returns 0, or -1 with the reason in err.
 */
int
tmpl_load(const char *dir, const char *fallback, struct tmpl_set *set,
    char *err, size_t errlen)
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
		if (!brand_name_valid(e->d_name))
			continue;
		set->brands = xreallocarray(set->brands, set->nbrands + 1,
		    sizeof(*set->brands));
		memset(&set->brands[set->nbrands], 0, sizeof(*set->brands));
		if (brand_load(dir, e->d_name, &set->brands[set->nbrands++],
		    err, errlen) == -1) {
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
		if (set->brands[set->fallback].text[k] == NULL) {
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
			free(set->brands[i].text[k]);
	}
	free(set->brands);
	memset(set, 0, sizeof(*set));
}

/*
 * Returns the template of kind for brand (NULL or unknown: the default
 * brand's), borrowed from set.  Only the names of loaded folders can match,
 * so "../x" and the like fall back to the default.
 */
const char *
tmpl_get(const struct tmpl_set *set, const char *brand, enum tmpl_kind kind)
{
	size_t	 i;

	if (brand != NULL)
		for (i = 0; i < set->nbrands; i++)
			if (strcmp(set->brands[i].name, brand) == 0 &&
			    set->brands[i].text[kind] != NULL)
				return set->brands[i].text[kind];
	return set->brands[set->fallback].text[kind];
}
