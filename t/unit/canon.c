/*
 * Unit tests for common/canon: every example of the spec appendix
 * "Canonical JSON", escapes, the integer range and what must be refused.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "canon.h"
#include "json.h"
#include "tap.h"

/* Returns the canonical form of the JSON text in, or "(refused)". */
static const char *
canon_of(const char *in, struct buf *out)
{
	cJSON	*v;
	int	 rc;

	buf_reset(out);
	if ((v = cJSON_Parse(in)) == NULL)
		return "(unparsable)";
	rc = canon_write(v, out);
	cJSON_Delete(v);
	return rc == 0 ? buf_str(out) : "(refused)";
}

static void
check(const char *in, const char *want, const char *name)
{
	struct buf	 out = { 0 };

	is_str(canon_of(in, &out), want, "%s", name);
	buf_free(&out);
}

int
main(void)
{
	struct buf	 out = { 0 }, tree = { 0 };
	cJSON		*o;

	/* The spec's examples, in its order. */
	check("{}", "{}", "spec: empty object");
	check("{\n    \"one\": 1,\n    \"two\": \"Two\"\n}",
	    "{\"one\":1,\"two\":\"Two\"}", "spec: white space removed");
	check("{\n    \"b\": \"2\",\n    \"a\": \"1\"\n}",
	    "{\"a\":\"1\",\"b\":\"2\"}", "spec: keys sorted");
	check("{\"b\":\"2\",\"a\":\"1\"}", "{\"a\":\"1\",\"b\":\"2\"}",
	    "spec: compact input, keys sorted");
	check("{\"auth\": {\"success\": true, \"mxid\": "
	    "\"@john.doe:example.com\", \"profile\": {\"display_name\": "
	    "\"John Doe\", \"three_pids\": [{\"medium\": \"email\", "
	    "\"address\": \"john.doe@example.org\"}, {\"medium\": "
	    "\"msisdn\", \"address\": \"123456789\"}]}}}",
	    "{\"auth\":{\"mxid\":\"@john.doe:example.com\",\"profile\":"
	    "{\"display_name\":\"John Doe\",\"three_pids\":[{\"address\":"
	    "\"john.doe@example.org\",\"medium\":\"email\"},{\"address\":"
	    "\"123456789\",\"medium\":\"msisdn\"}]},\"success\":true}}",
	    "spec: nested objects and arrays");
	check("{\"a\": \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}",
	    "{\"a\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}",
	    "spec: non-ASCII stays UTF-8");
	check("{\"\xe6\x9c\xac\": 2, \"\xe6\x97\xa5\": 1}",
	    "{\"\xe6\x97\xa5\":1,\"\xe6\x9c\xac\":2}",
	    "spec: non-ASCII keys sorted by code point");
	check("{\"a\": \"\\u65E5\"}", "{\"a\":\"\xe6\x97\xa5\"}",
	    "spec: \\u escape written as UTF-8");
	check("{\"a\": null}", "{\"a\":null}", "spec: null");
	check("{\"a\": -0, \"b\": 1e10}", "{\"a\":0,\"b\":10000000000}",
	    "spec: -0 and 1e10 written as plain integers");

	/* Ordering by code point, not by UTF-16 unit or locale. */
	check("{\"\xf0\x9f\x98\x80\": 1, \"\xef\xbf\xbd\": 2, \"Z\": 3, "
	    "\"a\": 4}",
	    "{\"Z\":3,\"a\":4,\"\xef\xbf\xbd\":2,\"\xf0\x9f\x98\x80\":1}",
	    "U+FFFD sorts before U+1F600 (code point order)");

	/* Escapes: the short forms, \u00XX for other controls, nothing else. */
	check("{\"a\": \"\\b\\f\\n\\r\\t\\\"\\\\\"}",
	    "{\"a\":\"\\b\\f\\n\\r\\t\\\"\\\\\"}", "short escapes kept");
	check("{\"a\": \"\\u0001\\u001f\\u000b\"}",
	    "{\"a\":\"\\u0001\\u001f\\u000b\"}",
	    "other control characters as lower-case \\u00XX");
	check("{\"a\": \"\\/\\u007f\\u00e9\"}",
	    "{\"a\":\"/\x7f\xc3\xa9\"}",
	    "slash, DEL and U+00E9 are not escaped");
	check("{\"a\": \"\\ud83d\\ude00\"}",
	    "{\"a\":\"\xf0\x9f\x98\x80\"}", "a surrogate pair becomes 4 bytes");

	/* Integer range: +/-(2^53 - 1) and no further. */
	check("{\"a\": 9007199254740991, \"b\": -9007199254740991}",
	    "{\"a\":9007199254740991,\"b\":-9007199254740991}",
	    "the largest integers in range are exact");
	check("{\"a\": 9007199254740992}", "(refused)",
	    "2^53 is out of range and refused");
	check("{\"a\": -9007199254740992}", "(refused)",
	    "-2^53 is out of range and refused");
	check("{\"a\": 1.5}", "(refused)", "a fraction is refused");
	check("{\"a\": [1, 2.25]}", "(refused)",
	    "a fraction inside an array is refused");
	check("{\"a\": 1e400}", "(refused)",
	    "a number beyond double range is refused");
	check("[1,\"x\",true,false,null,{}]", "[1,\"x\",true,false,null,{}]",
	    "an array at the top with every type");

	/* Trees built in code: duplicates and the "except" form. */
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "k", 1);
	cJSON_AddNumberToObject(o, "k", 2);
	ok(canon_write(o, &out) == -1, "a tree with a duplicate key is refused");
	cJSON_Delete(o);
	buf_reset(&out);
	o = cJSON_Parse("{\"signatures\":{},\"unsigned\":{},\"b\":1,\"a\":2}");
	ok(canon_write_except(o, &out, "signatures", "unsigned") == 0,
	    "canon_write_except succeeds");
	is_str(buf_str(&out), "{\"a\":2,\"b\":1}",
	    "signatures and unsigned are left out");
	cJSON_Delete(o);

	/* A string written alone (replies written piece by piece): the
	 * same escapes as inside a tree, UTF-8 as is. */
	buf_reset(&out);
	canon_put_string(&out, "q\"b\\c\x01\x1f\b\f\n\r\t\xc3\xbc/");
	is_str(buf_str(&out),
	    "\"q\\\"b\\\\c\\u0001\\u001f\\b\\f\\n\\r\\t\xc3\xbc/\"",
	    "canon_put_string: the shortest escapes, UTF-8 as is");
	o = cJSON_CreateString("q\"b\\c\x01\x1f\b\f\n\r\t\xc3\xbc/");
	ok(canon_write(o, &tree) == 0 &&
	    strcmp(buf_str(&tree), buf_str(&out)) == 0,
	    "... the bytes canon_write gives the same string in a tree");
	buf_free(&tree);
	buf_reset(&out);
	canon_put_string(&out, "");
	is_str(buf_str(&out), "\"\"", "canon_put_string: the empty string");
	cJSON_Delete(o);
	buf_free(&out);
	return done_testing();
}
