/*
 * Allocation wrappers, strict integer parsing, and the OpenSSL helpers for
 * secrets (RAND_bytes, CRYPTO_memcmp, OPENSSL_cleanse), so that the rest of
 * the tree needs no OpenSSL header to handle a token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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

/* Fills buf with n bytes from the OpenSSL CSPRNG.  Returns 0 or -1. */
int
random_bytes(unsigned char *buf, size_t n)
{
	if (n > (size_t)INT32_MAX)
		return -1;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

/*
 * Writes a random token of size - 1 characters from [0-9a-zA-Z] and a NUL
 * into buf.  Each character carries log2(62) bits; a 44-character token
 * carries over 256.  Returns 0 or -1 when the CSPRNG fails.
 */
int
random_token(char *buf, size_t size)
{
	static const char alphabet[] =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char	 r;
	size_t		 i = 0;

	if (size == 0)
		return -1;
	while (i + 1 < size) {
		if (random_bytes(&r, 1) == -1)
			return -1;
		if (r >= 248)		/* 248 = 4 * 62: reject to stay uniform */
			continue;
		buf[i++] = alphabet[r % 62];
	}
	buf[i] = '\0';
	return 0;
}

/*
 * Compares two secrets in time that depends only on their lengths.
 * Returns 1 when they are equal.
 */
int
ct_streq(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

/* Overwrites n bytes at p in a way the compiler keeps. */
void
secure_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

/* Returns the wall-clock time in milliseconds since the epoch. */
int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the SHA-256 of n bytes at p as 64 hex digits and a NUL to out. */
void
sha256_hex(const void *p, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[SHA256_DIGEST_LENGTH];
	size_t			 i;

	SHA256(p, n, md);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * sizeof(md)] = '\0';
}
