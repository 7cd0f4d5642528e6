/*
 * Unpadded base64 (Matrix spec appendix), standard and URL-safe alphabets.
 * The decoder takes either alphabet and optional '=' padding, and refuses
 * anything else: whitespace, stray characters, non-zero trailing bits.
 */
#ifndef SIGIL_B64_H
#define SIGIL_B64_H

#include <stddef.h>

enum b64_alphabet {
	B64_STANDARD,		/* + and / */
	B64_URLSAFE,		/* - and _ */
};

size_t	 b64_encoded_len(size_t);
size_t	 b64_encode(const unsigned char *, size_t, enum b64_alphabet,
	    char *, size_t);
int	 b64_decode(const char *, size_t, unsigned char *, size_t, size_t *);

#endif /* !SIGIL_B64_H */
