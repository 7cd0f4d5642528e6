/*
 * libFuzzer target: the Jinja2 subset of .j2 mail templates (common/j2).
 * Invariants: compiling any text either fails with a line within the
 * text and a reason, or gives a template that renders; a rendered
 * template has no more line breaks than its text (no value adds one)
 * and, unless it asks for |safe, no "<" but the template's own (values
 * are full of markup).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "j2.h"
#include "tmpl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* How many times c is in s. */
static size_t
count(const char *s, char c)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tmpl_var vars[] = {
		{ "a", "<b>&\"'\r\nBcc: x\xe2\x80\xa8" },
		{ "b", "m.space" },
		{ "c", "" },
	};
	struct buf	 out = { 0 };
	struct j2	*t;
	char		*text, why[256];
	size_t		 line = 0;

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if ((t = j2_compile(text, " a b c ", &line, why, sizeof(why))) ==
	    NULL) {
		if (line < 1 || line > count(text, '\n') + 1 || why[0] == '\0')
			abort();
	} else {
		if (j2_render(t, vars, 3, &out) != 0 ||
		    count(buf_str(&out), '\n') > count(text, '\n') ||
		    (strstr(text, "safe") == NULL &&
		    count(buf_str(&out), '<') > count(text, '<')))
			abort();
		j2_free(t);
	}
	buf_free(&out);
	free(text);
	return 0;
}
