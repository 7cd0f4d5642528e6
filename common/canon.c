/*
 * The canonical JSON writer.  It never uses cJSON's printer, which neither
 * sorts keys nor keeps integers exact.  Keys sort by strcmp of their UTF-8
 * bytes, which orders them by code point.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "canon.h"
#include "json.h"
#include "bounds.h"
#include "util.h"

static int	canon_value(const cJSON *, struct buf *, int, const char *,
		    const char *);

/* Appends s as a JSON string, with the shortest escapes. */
static void
canon_string(const char *s, struct buf *out)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*run = p;

	buf_putc(out, '"');
	for (; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		buf_append(out, run, (size_t)(p - run));
		run = p + 1;
		buf_putc(out, '\\');
		switch (*p) {
		case '"':
			buf_putc(out, '"');
			break;
		case '\\':
			buf_putc(out, '\\');
			break;
		case '\b':
			buf_putc(out, 'b');
			break;
		case '\f':
			buf_putc(out, 'f');
			break;
		case '\n':
			buf_putc(out, 'n');
			break;
		case '\r':
			buf_putc(out, 'r');
			break;
		case '\t':
			buf_putc(out, 't');
			break;
		default:
			buf_puts(out, "u00");
			buf_putc(out, hex[*p >> 4]);
			buf_putc(out, hex[*p & 0xf]);
			break;
		}
	}
	buf_append(out, run, (size_t)(p - run));
	buf_putc(out, '"');
}

static int
member_cmp(const void *a, const void *b)
{
	const cJSON	*x = *(const cJSON *const *)a;
	const cJSON	*y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

static int
canon_object(const cJSON *obj, struct buf *out, int depth, const char *skip1,
    const char *skip2)
{
	const cJSON	 *c;
	const cJSON	**members;
	size_t		  n = 0, i;
	int		  rc = 0, first = 1;

	for (c = obj->child; c != NULL; c = c->next)
		n++;
	members = xreallocarray(NULL, n, sizeof(const cJSON *));
	for (i = 0, c = obj->child; c != NULL; c = c->next)
		members[i++] = c;
	qsort(members, n, sizeof(const cJSON *), member_cmp);
	buf_putc(out, '{');
	for (i = 0; i < n && rc == 0; i++) {
		if (members[i]->string == NULL) {
			rc = -1;
			break;
		}
		if ((skip1 != NULL && strcmp(members[i]->string, skip1) == 0) ||
		    (skip2 != NULL && strcmp(members[i]->string, skip2) == 0))
			continue;
		if (i > 0 && strcmp(members[i - 1]->string,
		    members[i]->string) == 0) {
			rc = -1;		/* duplicate key */
			break;
		}
		if (!first)
			buf_putc(out, ',');
		first = 0;
		canon_string(members[i]->string, out);
		buf_putc(out, ':');
		rc = canon_value(members[i], out, depth + 1, NULL, NULL);
	}
	buf_putc(out, '}');
	free(members);
	return rc;
}

static int
canon_value(const cJSON *v, struct buf *out, int depth, const char *skip1,
    const char *skip2)
{
	const cJSON	*c;
	int64_t		 n;

	if (depth > MAX_JSON_DEPTH * 2)
		return -1;
	switch (v->type & 0xff) {
	case cJSON_NULL:
		buf_puts(out, "null");
		return 0;
	case cJSON_True:
		buf_puts(out, "true");
		return 0;
	case cJSON_False:
		buf_puts(out, "false");
		return 0;
	case cJSON_Number:
		if (json_number_as_int(v, &n) == -1)
			return -1;
		buf_printf(out, "%" PRId64, n);	/* -0 prints as 0 */
		return 0;
	case cJSON_String:
		if (v->valuestring == NULL)
			return -1;
		canon_string(v->valuestring, out);
		return 0;
	case cJSON_Array:
		buf_putc(out, '[');
		for (c = v->child; c != NULL; c = c->next) {
			if (c != v->child)
				buf_putc(out, ',');
			if (canon_value(c, out, depth + 1, NULL, NULL) == -1)
				return -1;
		}
		buf_putc(out, ']');
		return 0;
	case cJSON_Object:
		return canon_object(v, out, depth, skip1, skip2);
	default:
		return -1;		/* cJSON_Raw and invalid items */
	}
}

/*
 * Appends the canonical encoding of v to out.  Returns 0, or -1 when v
 * holds something canonical JSON cannot carry (a fraction, an integer out
 * of range, a duplicate key, a raw item); out then holds partial output.
 */
int
canon_write(const cJSON *v, struct buf *out)
{
	return canon_value(v, out, 0, NULL, NULL);
}

/*
 * As canon_write, but leaves out the top-level members named skip1 and
 * skip2 (either may be NULL): how signed JSON drops "signatures" and
 * "unsigned" without copying the tree.
 */
int
canon_write_except(const cJSON *v, struct buf *out, const char *skip1,
    const char *skip2)
{
	if (!cJSON_IsObject(v))
		return -1;
	return canon_value(v, out, 0, skip1, skip2);
}

/*
 * Appends s (UTF-8, NUL-terminated) to out as a canonical JSON string:
 * for replies written piece by piece rather than built as a tree first.
 */
void
canon_put_string(struct buf *out, const char *s)
{
	canon_string(s, out);
}
