/*
 * Parsing "X-Matrix origin=...,destination=...,key=...,sig=..." as RFC
 * 9110 section 11.4 and the spec allow: names case-insensitive, any
 * order, values as tokens or quoted strings with backslash escapes, white
 * space around commas, unknown parameters ignored.  Several credentials
 * may come in one header value, separated by commas (how proxies join
 * repeated headers).  Every field is bounded; anything malformed fails.
 */
#include <string.h>
#include <strings.h>

#include "xmatrix.h"

static int
is_tchar(char c)
{
	/* ':' is not a tchar, but senders leave key ids and server names
	 * with ports unquoted; the spec says to accept them.  (strchr would
	 * find the NUL too: test it first.) */
	return c != '\0' && ((c >= 'a' && c <= 'z') || (c >= 'A' &&
	    c <= 'Z') || (c >= '0' && c <= '9') ||
	    strchr("!#$%&'*+-.^_`|~:", c) != NULL);
}

/* Copies v into dst (dstsz bytes); refuses, never truncates. */
static int
set_field(char *dst, size_t dstsz, const char *v)
{
	size_t	 n = strlen(v);

	if (n >= dstsz)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

/* Reads one value at *p into out (outsz bytes).  Returns 0 or -1. */
static int
read_value(const char **p, char *out, size_t outsz)
{
	const char	*s = *p;
	size_t		 n = 0;

	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0' || (unsigned char)*s < 0x20)
				return -1;
			if (*s == '\\' && *++s == '\0')
				return -1;
			if (n + 1 >= outsz)
				return -1;
			out[n++] = *s;
		}
		s++;
	} else {
		for (; is_tchar(*s); s++) {
			if (n + 1 >= outsz)
				return -1;
			out[n++] = *s;
		}
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	*p = s;
	return 0;
}

/*
 * Parses the Authorization header value h into at most max credentials
 * in out.  Returns how many (1 or more), or -1 when h is not X-Matrix or
 * is malformed, or a credential lacks origin, key or sig.
 */
int
xmatrix_parse(const char *h, struct xmatrix *out, int max)
{
	const char	*p = h;
	char		 name[32], value[512];
	int		 n = 0;
	size_t		 len;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncasecmp(p, "X-Matrix", 8) != 0 || (p[8] != ' ' &&
		    p[8] != '\t'))
			return -1;
		if (n >= max)
			return -1;
		memset(&out[n], 0, sizeof(out[n]));
		p += 8;
		for (;;) {
			while (*p == ' ' || *p == '\t')
				p++;
			len = strspn(p, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
			if (len == 0 || len >= sizeof(name) || p[len] != '=')
				return -1;
			memcpy(name, p, len);
			name[len] = '\0';
			p += len + 1;
			if (read_value(&p, value, sizeof(value)) == -1)
				return -1;
			if ((strcasecmp(name, "origin") == 0 &&
			    set_field(out[n].origin, sizeof(out[n].origin),
			    value) == -1) ||
			    (strcasecmp(name, "destination") == 0 &&
			    set_field(out[n].destination,
			    sizeof(out[n].destination), value) == -1) ||
			    (strcasecmp(name, "key") == 0 &&
			    set_field(out[n].key, sizeof(out[n].key),
			    value) == -1) ||
			    ((strcasecmp(name, "sig") == 0 ||
			    strcasecmp(name, "signature") == 0) &&
			    set_field(out[n].sig, sizeof(out[n].sig),
			    value) == -1))
				return -1;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0')
				break;
			if (*p++ != ',')
				return -1;
			while (*p == ' ' || *p == '\t')
				p++;
			if (strncasecmp(p, "X-Matrix", 8) == 0)
				break;		/* the next credential */
		}
		if (out[n].origin[0] == '\0' || out[n].key[0] == '\0' ||
		    out[n].sig[0] == '\0')
			return -1;
		n++;
	}
	return n > 0 ? n : -1;
}
