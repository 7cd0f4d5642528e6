/*
 * libFuzzer target: the strict JSON parser and the canonical writer.
 * Invariants: whatever json_parse_object accepts, canon_write either
 * refuses (fractions, out-of-range integers) or writes text that parses
 * again under the same rules and canonicalises to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "canon.h"
#include "json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON		*a = NULL, *b = NULL;
	struct buf	 first = { 0 }, second = { 0 };

	if (json_parse_object((const char *)data, size, &a) != JSON_PARSE_OK)
		return 0;
	if (canon_write(a, &first) == 0) {
		if (json_parse_object(first.data, first.len, &b) !=
		    JSON_PARSE_OK)
			abort();	/* canonical output must parse */
		if (canon_write(b, &second) != 0 ||
		    first.len != second.len ||
		    memcmp(first.data, second.data, first.len) != 0)
			abort();	/* and be a fixed point */
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	buf_free(&first);
	buf_free(&second);
	return 0;
}
