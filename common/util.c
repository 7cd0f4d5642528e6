/*
 * Allocation wrappers, strict integer parsing and the clock.  The helpers
 * for secrets are in secret.c, apart, so that a program that handles none
 * does not link libcrypto.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static void
oom(void)
{
	fputs("sigil: out of memory\n", stderr);
	abort();
}

/* Returns malloc(n), never NULL; the caller owns and frees it. */
void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

/* Returns zeroed memory for nmemb * size bytes, never NULL. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if ((p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size)) == NULL)
		oom();
	return p;
}

/* realloc that never returns NULL. */
void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

/* realloc of nmemb * size bytes, aborting on overflow as on failure. */
void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom();
	return xrealloc(p, nmemb * size);
}

/* Returns a copy of s that the caller frees. */
char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Returns a NUL-terminated copy of the first n bytes of s. */
char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * Parses s as a decimal integer in [lo, hi]: an optional '-', then digits
 * only, no spaces, no '+', no leading zeros unless the number is 0.
 * Returns 0 and writes *out, or -1 leaving *out alone.
 */
int
parse_int64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	const char	*p = s;
	char		*end;
	long long	 v;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	if (p[0] == '0' && p[1] != '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	if (v == 0 && *s == '-')
		return -1;
	*out = v;
	return 0;
}

/* Returns the wall-clock time in milliseconds since the epoch. */
int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of hex digit c (either case), or -1. */
int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Where the host starts in an http:// or https:// URL s (borrowed from
 * s), or NULL for any other scheme.
 */
const char *
http_url_host(const char *s)
{
	if (strncmp(s, "https://", 8) == 0)
		return s + 8;
	if (strncmp(s, "http://", 7) == 0)
		return s + 7;
	return NULL;
}

/*
 * The argument after the first flag among those after argv[0] (argv's),
 * or NULL when flag is not there or ends the line.
 */
const char *
argv_value(int argc, char *const *argv, const char *flag)
{
	int	 i;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return argv[i + 1];
	return NULL;
}

/* Whether the arguments after argv[0] include flag. */
int
argv_has(int argc, char *const *argv, const char *flag)
{
	int	 i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}
