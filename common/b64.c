/*
 * Our own base64 coder: small enough to own, and strict where OpenSSL's
 * BIO decoder is lenient (it skips whitespace and ignores junk).
 */
#include <string.h>

#include "b64.h"

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Returns how many characters, without padding or NUL, n bytes encode to. */
size_t
b64_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/*
 * Encodes n bytes at in as unpadded base64 into out, which has room for
 * outsz bytes including the NUL.  Returns the length written, or 0 (and an
 * empty string where possible) when out is too small for non-empty input.
 */
size_t
b64_encode(const unsigned char *in, size_t n, enum b64_alphabet alpha,
    char *out, size_t outsz)
{
	const char	*tab = alpha == B64_URLSAFE ? b64_url : b64_std;
	size_t		 need = b64_encoded_len(n), i, o = 0;
	unsigned long	 v;

	if (outsz == 0)
		return 0;
	if (need + 1 > outsz) {
		out[0] = '\0';
		return 0;
	}
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)in[i] << 16;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * Decodes len characters of base64 at in (either alphabet, but not both
 * mixed; '=' padding optional but, if present, complete) into out, which
 * holds outsz bytes.  Returns 0 and the byte count in *outlen, or -1.
 */
int
b64_decode(const char *in, size_t len, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	size_t		 i, o = 0, pad = 0, rem;
	unsigned long	 v = 0;
	int		 d, bits = 0, std = 0, url = 0;

	while (pad < len && pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	if (pad > 0 && len % 4 != 0)
		return -1;
	len -= pad;
	rem = len % 4;
	if (rem == 1 || (pad > 0 && pad != 4 - rem))
		return -1;
	if (len / 4 * 3 + (rem == 0 ? 0 : rem - 1) > outsz)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = b64_value(in[i])) == -1)
			return -1;
		if (in[i] == '+' || in[i] == '/')
			std = 1;
		if (in[i] == '-' || in[i] == '_')
			url = 1;
		v = (v << 6 | (unsigned long)d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	if (std && url)
		return -1;
	/*
	 * Bits left over are ignored, not refused: the spec's own test seed
	 * "YJDB...XA1" has non-zero ones.
	 */
	*outlen = o;
	return 0;
}
