/*
 * libFuzzer target: query-string and form parsing, and base64.
 * Invariants: parsed names and values are valid UTF-8 without NUL; a
 * base64 string that decodes re-encodes to a string that decodes to the
 * same bytes; the X-Matrix parser never reads past its input (ASan).
 * Email addresses have a target of their own, fuzz_email.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "json.h"
#include "req.h"
#include "xmatrix.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct params	 p;
	unsigned char	 raw[4096], raw2[4096];
	char		 enc[8192];
	size_t		 i, n, n2;

	struct xmatrix	 x[XMATRIX_MAX_CREDENTIALS];
	char		*text;

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	xmatrix_parse(text, x, XMATRIX_MAX_CREDENTIALS);
	free(text);
	memset(&p, 0, sizeof(p));
	if (req_params_parse((const char *)data, size, &p) == 0) {
		for (i = 0; i < p.n; i++)
			if (!json_utf8_valid((unsigned char *)p.p[i].name,
			    strlen(p.p[i].name)) ||
			    !json_utf8_valid((unsigned char *)p.p[i].value,
			    strlen(p.p[i].value)))
				abort();
		req_params_free(&p);
	}
	if (b64_decode((const char *)data, size, raw, sizeof(raw), &n) == 0) {
		b64_encode(raw, n, B64_URLSAFE, enc, sizeof(enc));
		if (b64_decode(enc, strlen(enc), raw2, sizeof(raw2), &n2) != 0 ||
		    n2 != n || memcmp(raw, raw2, n) != 0)
			abort();
	}
	return 0;
}
