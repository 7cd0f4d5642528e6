/*
 * Strict JSON input and bounded getters over cJSON trees.
 *
 * json_parse_object() accepts only RFC 8259 JSON whose top level is an
 * object, in valid UTF-8, with no NUL (raw or \u0000), no lone surrogate
 * escapes, no duplicate keys within an object, no trailing bytes and at
 * most MAX_JSON_DEPTH levels.  cJSON alone accepts all of those.
 */
#ifndef SIGIL_JSON_H
#define SIGIL_JSON_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

enum json_parse_res {
	JSON_PARSE_OK,
	JSON_PARSE_SYNTAX,	/* not JSON: M_NOT_JSON */
	JSON_PARSE_SHAPE,	/* JSON, but not an object or duplicate keys */
};

enum json_res {
	JSON_OK,
	JSON_MISSING,		/* key absent (or JSON null) */
	JSON_BADTYPE,		/* present with the wrong type */
	JSON_RANGE,		/* right type, value outside the bounds */
};

/* The largest integer canonical JSON allows: 2^53 - 1. */
#define JSON_INT_MAX	INT64_C(9007199254740991)

enum json_parse_res json_parse_object(const char *, size_t, struct cJSON **);
int	 json_validate(const char *, size_t);
int	 json_utf8_valid(const unsigned char *, size_t);

enum json_res json_get_str(const struct cJSON *, const char *, size_t, size_t,
	    const char **);
enum json_res json_get_int(const struct cJSON *, const char *, int64_t,
	    int64_t, int64_t *);
enum json_res json_get_bool(const struct cJSON *, const char *, int *);
enum json_res json_get_object(const struct cJSON *, const char *,
	    const struct cJSON **);
enum json_res json_get_array(const struct cJSON *, const char *, size_t,
	    const struct cJSON **);
enum json_res json_get_int_lenient(const struct cJSON *, const char *,
	    int64_t, int64_t, int64_t *);
int	 json_number_as_int(const struct cJSON *, int64_t *);

#endif /* !SIGIL_JSON_H */
