/*
 * Mail templates in the subset of Jinja2 that sydent's .j2 mail templates
 * use, with the environment they are rendered in (every value
 * HTML-escaped unless |safe; a single trailing newline of the file
 * dropped):
 *
 *	{{ name }}  {{ name|safe }}  {{ name|urlencode }}
 *	{% if name == "text" %} {% elif name != 'text' %} {% if name %}
 *	{% if not name %} {% else %} {% endif %}  {# a comment #}
 *	{{- ... -}} {%- ... -%} {#- ... -#}	(white space control)
 *
 * A template is compiled once (j2_compile) into a list of operations;
 * rendering walks that list and never reads the text again.
 */
#ifndef SIGIL_J2_H
#define SIGIL_J2_H

#include <stddef.h>

struct buf;
struct tmpl_var;
struct j2;

/* Which branches a render takes. */
enum j2_take {
	J2_TAKE_TESTS,		/* as the tests decide */
	J2_TAKE_FIRST,		/* every test passes */
	J2_TAKE_LAST		/* every test fails */
};

struct j2 *j2_compile(const char *, const char *, size_t *, char *, size_t);
int	 j2_render(const struct j2 *, const struct tmpl_var *, size_t,
	    struct buf *);
int	 j2_render_taking(const struct j2 *, const struct tmpl_var *, size_t,
	    enum j2_take, struct buf *);
void	 j2_free(struct j2 *);

#endif /* !SIGIL_J2_H */
