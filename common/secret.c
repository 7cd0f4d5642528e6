/*
 * The OpenSSL helpers for secrets (RAND_bytes, CRYPTO_memcmp,
 * OPENSSL_cleanse, SHA-256), so that the rest of the tree needs no OpenSSL
 * header to handle a token.  Apart from util.c so that a program that
 * handles no secret (sigil-status) does not link libcrypto at all.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "secret.h"

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
