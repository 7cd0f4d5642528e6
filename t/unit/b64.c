/* Unit tests for common/b64: the spec's examples, both alphabets, refusals. */
#include <string.h>

#include "b64.h"
#include "tap.h"

static void
roundtrip(const char *plain, const char *want)
{
	char		 enc[64];
	unsigned char	 dec[64];
	size_t		 n;

	b64_encode((const unsigned char *)plain, strlen(plain), B64_STANDARD,
	    enc, sizeof(enc));
	is_str(enc, want, "UNPADDED_BASE64(\"%s\")", plain);
	ok(b64_decode(want, strlen(want), dec, sizeof(dec), &n) == 0 &&
	    n == strlen(plain) && memcmp(dec, plain, n) == 0,
	    "decode(\"%s\") gives \"%s\" back", want, plain);
}

static int
decodes(const char *s)
{
	unsigned char	 dec[64];
	size_t		 n;

	return b64_decode(s, strlen(s), dec, sizeof(dec), &n) == 0;
}

int
main(void)
{
	unsigned char	 bytes[256], dec[300];
	char		 enc[400], url[400];
	size_t		 i, n;

	roundtrip("", "");
	roundtrip("f", "Zg");
	roundtrip("fo", "Zm8");
	roundtrip("foo", "Zm9v");
	roundtrip("foob", "Zm9vYg");
	roundtrip("fooba", "Zm9vYmE");
	roundtrip("foobar", "Zm9vYmFy");

	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(255 - i);
	b64_encode(bytes, sizeof(bytes), B64_STANDARD, enc, sizeof(enc));
	b64_encode(bytes, sizeof(bytes), B64_URLSAFE, url, sizeof(url));
	ok(strchr(enc, '+') != NULL && strchr(enc, '/') != NULL &&
	    strchr(enc, '=') == NULL, "standard alphabet uses + and /, no =");
	ok(strchr(url, '-') != NULL && strchr(url, '_') != NULL &&
	    strchr(url, '+') == NULL && strchr(url, '/') == NULL,
	    "URL-safe alphabet uses - and _");
	ok(b64_decode(url, strlen(url), dec, sizeof(dec), &n) == 0 &&
	    n == sizeof(bytes) && memcmp(dec, bytes, n) == 0,
	    "URL-safe text decodes to the same 256 bytes");
	ok(b64_decode(enc, strlen(enc), dec, sizeof(dec), &n) == 0 &&
	    n == sizeof(bytes) && memcmp(dec, bytes, n) == 0,
	    "standard text decodes to the same 256 bytes");

	ok(decodes("Zg=="), "padded input is accepted");
	ok(decodes("Zm8="), "padded input with one = is accepted");
	ok(decodes("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"),
	    "the spec's test seed (non-zero trailing bits) decodes");
	ok(!decodes("Zg="), "incomplete padding is refused");
	ok(!decodes("Zm8=="), "too much padding is refused");
	ok(!decodes("Zm9v="), "padding after a full group is refused");
	ok(!decodes("Z"), "a single leftover character is refused");
	ok(!decodes("Zm 9v"), "white space is refused");
	ok(!decodes("Zm9v\n"), "a newline is refused");
	ok(!decodes("Zm9*"), "a character outside both alphabets is refused");
	ok(!decodes("a+b_"), "mixed alphabets are refused");
	ok(!decodes("Z=g="), "padding in the middle is refused");
	ok(b64_decode("Zm9vYmFy", 8, dec, 5, &n) == -1,
	    "output larger than the buffer is refused");
	is_int((long long)b64_encode(bytes, 3, B64_STANDARD, enc, 4), 0,
	    "encoding into a buffer without room for the NUL fails");
	is_int((long long)b64_encoded_len(32), 43,
	    "32 bytes (a key) encode to 43 characters");
	is_int((long long)b64_encoded_len(64), 86,
	    "64 bytes (a signature) encode to 86 characters");
	return done_testing();
}
