/*
 * JSON input: a validating scanner over the raw bytes (the grammar of RFC
 * 8259 plus our stricter rules), then cJSON to build the tree, then a check
 * for duplicate keys.  Also the typed getters handlers use to read fields.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "bounds.h"
#include "util.h"

struct scan {
	const unsigned char	*p;
	const unsigned char	*end;
};

static int	scan_value(struct scan *, int);

static void
scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
scan_literal(struct scan *s, const char *lit)
{
	size_t	 n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

static int
scan_digits(struct scan *s)
{
	const unsigned char	*start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : -1;
}

static int
scan_number(struct scan *s)
{
	if (s->p < s->end && *s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s) == -1)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (scan_digits(s) == -1)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s) == -1)
			return -1;
	}
	return 0;
}

static int
scan_hex4(struct scan *s, unsigned int *out)
{
	unsigned int	 v = 0;
	int		 i;
	unsigned char	 c;

	if (s->end - s->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = *s->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * Returns the length of the valid UTF-8 sequence at p (at most n bytes
 * available), or 0 when it is not one: overlong forms, surrogates and
 * code points over U+10FFFF are refused.
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xe0 && p[1] < 0xa0)
			return 0;		/* overlong */
		if (p[0] == 0xed && p[1] >= 0xa0)
			return 0;		/* UTF-16 surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (p[0] == 0xf0 && p[1] < 0x90)
			return 0;		/* overlong */
		if (p[0] == 0xf4 && p[1] >= 0x90)
			return 0;		/* over U+10FFFF */
		return 4;
	}
	return 0;
}

/* Returns 1 when the n bytes at p are valid UTF-8 with no NUL. */
int
json_utf8_valid(const unsigned char *p, size_t n)
{
	size_t	 i = 0, k;

	while (i < n) {
		if (p[i] == 0 || (k = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static int
scan_string(struct scan *s)
{
	unsigned int	 u, lo;
	size_t		 k;

	s->p++;				/* opening quote */
	while (s->p < s->end) {
		if (*s->p == '"') {
			s->p++;
			return 0;
		}
		if (*s->p < 0x20)
			return -1;	/* raw control character, NUL included */
		if (*s->p == '\\') {
			if (++s->p >= s->end)
				return -1;
			switch (*s->p++) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				continue;
			case 'u':
				break;
			default:
				return -1;
			}
			if (scan_hex4(s, &u) == -1 || u == 0)
				return -1;
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;	/* lone low surrogate */
			if (u >= 0xd800 && u <= 0xdbff) {
				if (s->end - s->p < 6 || s->p[0] != '\\' ||
				    s->p[1] != 'u')
					return -1;
				s->p += 2;
				if (scan_hex4(s, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
			}
			continue;
		}
		if ((k = utf8_seq(s->p, (size_t)(s->end - s->p))) == 0)
			return -1;
		s->p += k;
	}
	return -1;
}

static int
scan_object(struct scan *s, int depth)
{
	s->p++;				/* { */
	scan_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		scan_ws(s);
		if (s->p >= s->end || *s->p != '"' || scan_string(s) == -1)
			return -1;
		scan_ws(s);
		if (s->p >= s->end || *s->p++ != ':')
			return -1;
		if (scan_value(s, depth) == -1)
			return -1;
		scan_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == '}') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
	}
}

static int
scan_array(struct scan *s, int depth)
{
	s->p++;				/* [ */
	scan_ws(s);
	if (s->p < s->end && *s->p == ']') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (scan_value(s, depth) == -1)
			return -1;
		scan_ws(s);
		if (s->p >= s->end)
			return -1;
		if (*s->p == ']') {
			s->p++;
			return 0;
		}
		if (*s->p++ != ',')
			return -1;
	}
}

static int
scan_value(struct scan *s, int depth)
{
	scan_ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		return depth >= MAX_JSON_DEPTH ? -1 : scan_object(s, depth + 1);
	case '[':
		return depth >= MAX_JSON_DEPTH ? -1 : scan_array(s, depth + 1);
	case '"':
		return scan_string(s);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

/*
 * Returns 0 when the len bytes at text are one JSON value under our rules
 * (any type at the top), surrounded by nothing but white space; else -1.
 */
int
json_validate(const char *text, size_t len)
{
	struct scan	 s;

	s.p = (const unsigned char *)text;
	s.end = s.p + len;
	if (scan_value(&s, 0) == -1)
		return -1;
	scan_ws(&s);
	return s.p == s.end ? 0 : -1;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns 1 when no object in the tree at item has a key twice. */
static int
keys_unique(const cJSON *item)
{
	const cJSON	 *c;
	const char	**keys;
	size_t		  n = 0, i;
	int		  ok = 1;

	if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
		return 1;
	for (c = item->child; c != NULL; c = c->next) {
		if (!keys_unique(c))
			return 0;
		n++;
	}
	if (!cJSON_IsObject(item) || n < 2)
		return 1;
	keys = xreallocarray(NULL, n, sizeof(*keys));
	for (i = 0, c = item->child; c != NULL; c = c->next)
		keys[i++] = c->string;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && ok; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			ok = 0;
	free(keys);
	return ok;
}

/*
 * Parses len bytes at text into a cJSON object under the strict rules
 * above.  On JSON_PARSE_OK *out is a tree the caller frees with
 * cJSON_Delete; otherwise *out is untouched.
 */
enum json_parse_res
json_parse_object(const char *text, size_t len, cJSON **out)
{
	cJSON	*root;

	if (json_validate(text, len) == -1)
		return JSON_PARSE_SYNTAX;
	if ((root = cJSON_ParseWithLength(text, len)) == NULL)
		return JSON_PARSE_SYNTAX;
	if (!cJSON_IsObject(root) || !keys_unique(root)) {
		cJSON_Delete(root);
		return JSON_PARSE_SHAPE;
	}
	*out = root;
	return JSON_PARSE_OK;
}

/*
 * Writes the value of a number item to *out when it is an integer within
 * the canonical JSON range (so 1e3 counts, 1.5 does not).  Returns 0 or -1.
 */
int
json_number_as_int(const cJSON *item, int64_t *out)
{
	double	 d;

	if (!cJSON_IsNumber(item))
		return -1;
	d = item->valuedouble;
	if (!isfinite(d) || d != floor(d) || d > (double)JSON_INT_MAX ||
	    d < -(double)JSON_INT_MAX)
		return -1;
	*out = (int64_t)d;
	return 0;
}

static const cJSON *
member(const cJSON *obj, const char *key)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

/*
 * Reads obj[key] as a string of minlen..maxlen bytes.  *out is borrowed
 * from the tree and lives as long as it does.
 */
enum json_res
json_get_str(const cJSON *obj, const char *key, size_t minlen, size_t maxlen,
    const char **out)
{
	const cJSON	*v;
	size_t		 n;

	if ((v = member(obj, key)) == NULL)
		return JSON_MISSING;
	if (!cJSON_IsString(v))
		return JSON_BADTYPE;
	n = strlen(v->valuestring);
	if (n < minlen || n > maxlen)
		return JSON_RANGE;
	*out = v->valuestring;
	return JSON_OK;
}

/* Reads obj[key] as an integer number in lo..hi. */
enum json_res
json_get_int(const cJSON *obj, const char *key, int64_t lo, int64_t hi,
    int64_t *out)
{
	const cJSON	*v;
	int64_t		 n;

	if ((v = member(obj, key)) == NULL)
		return JSON_MISSING;
	if (!cJSON_IsNumber(v))
		return JSON_BADTYPE;
	if (json_number_as_int(v, &n) == -1 || n < lo || n > hi)
		return JSON_RANGE;
	*out = n;
	return JSON_OK;
}

/*
 * As json_get_int, but a string of decimal digits counts too: clients
 * (matrix-js-sdk) send send_attempt as "1", and v1 form fields are
 * strings.
 */
enum json_res
json_get_int_lenient(const cJSON *obj, const char *key, int64_t lo,
    int64_t hi, int64_t *out)
{
	const cJSON	*v;
	int64_t		 n;

	if ((v = member(obj, key)) == NULL)
		return JSON_MISSING;
	if (!cJSON_IsString(v))
		return json_get_int(obj, key, lo, hi, out);
	if (parse_int64(v->valuestring, lo, hi, &n) == -1)
		return JSON_RANGE;
	*out = n;
	return JSON_OK;
}

/* Reads obj[key] as a boolean; *out is 0 or 1. */
enum json_res
json_get_bool(const cJSON *obj, const char *key, int *out)
{
	const cJSON	*v;

	if ((v = member(obj, key)) == NULL)
		return JSON_MISSING;
	if (!cJSON_IsBool(v))
		return JSON_BADTYPE;
	*out = cJSON_IsTrue(v);
	return JSON_OK;
}

/* Reads obj[key] as an object, borrowed from the tree. */
enum json_res
json_get_object(const cJSON *obj, const char *key, const cJSON **out)
{
	const cJSON	*v;

	if ((v = member(obj, key)) == NULL)
		return JSON_MISSING;
	if (!cJSON_IsObject(v))
		return JSON_BADTYPE;
	*out = v;
	return JSON_OK;
}

/* Reads obj[key] as an array of at most maxlen items, borrowed. */
enum json_res
json_get_array(const cJSON *obj, const char *key, size_t maxlen,
    const cJSON **out)
{
	const cJSON	*v;

	if ((v = member(obj, key)) == NULL)
		return JSON_MISSING;
	if (!cJSON_IsArray(v))
		return JSON_BADTYPE;
	if ((size_t)cJSON_GetArraySize(v) > maxlen)
		return JSON_RANGE;
	*out = v;
	return JSON_OK;
}
