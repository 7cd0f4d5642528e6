/*
 * Unit tests for common/json: the strict parser's acceptances and
 * refusals, and the typed getters.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "tap.h"

static enum json_parse_res
parse(const char *s, size_t n)
{
	cJSON			*o = NULL;
	enum json_parse_res	 r;

	r = json_parse_object(s, n, &o);
	cJSON_Delete(o);
	return r;
}

#define P(s)	parse((s), sizeof(s) - 1)

int
main(void)
{
	cJSON		*o = NULL;
	const char	*s;
	const cJSON	*sub;
	int64_t		 n;
	int		 b, i;
	char		 deep[200];

	is_int(P("{}"), JSON_PARSE_OK, "{} parses");
	is_int(P(" \t\r\n{\"a\":[1,-2.5e3,true,false,null,\"x\"]} \n"),
	    JSON_PARSE_OK, "every type, surrounding white space");
	is_int(P("{\"a\":\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"}"),
	    JSON_PARSE_OK, "2-, 3- and 4-byte UTF-8");
	is_int(P("{\"a\":\"\\ud83d\\ude00\"}"), JSON_PARSE_OK,
	    "a surrogate pair escape");

	is_int(P(""), JSON_PARSE_SYNTAX, "empty body is not JSON");
	is_int(P("{"), JSON_PARSE_SYNTAX, "truncated object");
	is_int(P("{\"a\":1,}"), JSON_PARSE_SYNTAX, "trailing comma");
	is_int(P("{\"a\":1} x"), JSON_PARSE_SYNTAX, "trailing bytes");
	is_int(P("{\"a\":1}{}"), JSON_PARSE_SYNTAX, "two values");
	is_int(parse("{\"a\":1}\0", 8), JSON_PARSE_SYNTAX,
	    "a NUL after the object");
	is_int(parse("{\"a\":\"x\0y\"}", 11), JSON_PARSE_SYNTAX,
	    "a raw NUL in a string");
	is_int(P("{\"a\":\"\\u0000\"}"), JSON_PARSE_SYNTAX,
	    "an escaped NUL in a string");
	is_int(P("{\"a\\u0000b\":1}"), JSON_PARSE_SYNTAX,
	    "an escaped NUL in a key");
	is_int(P("{\"a\":\"x\ty\"}"), JSON_PARSE_SYNTAX,
	    "a raw tab in a string");
	is_int(P("{\"a\":\"\xff\"}"), JSON_PARSE_SYNTAX, "byte 0xff");
	is_int(P("{\"a\":\"\xc3\"}"), JSON_PARSE_SYNTAX, "truncated UTF-8");
	is_int(P("{\"a\":\"\xc0\xaf\"}"), JSON_PARSE_SYNTAX,
	    "overlong UTF-8");
	is_int(P("{\"a\":\"\xed\xa0\x80\"}"), JSON_PARSE_SYNTAX,
	    "a UTF-8 encoded surrogate");
	is_int(P("{\"a\":\"\xf4\x90\x80\x80\"}"), JSON_PARSE_SYNTAX,
	    "a code point over U+10FFFF");
	is_int(P("{\"a\":\"\\ud83d\"}"), JSON_PARSE_SYNTAX,
	    "a lone high surrogate escape");
	is_int(P("{\"a\":\"\\ude00\"}"), JSON_PARSE_SYNTAX,
	    "a lone low surrogate escape");
	is_int(P("{\"a\":\"\\x\"}"), JSON_PARSE_SYNTAX, "an unknown escape");
	is_int(P("{\"a\":01}"), JSON_PARSE_SYNTAX, "a leading zero");
	is_int(P("{\"a\":+1}"), JSON_PARSE_SYNTAX, "a leading plus");
	is_int(P("{\"a\":1.}"), JSON_PARSE_SYNTAX, "a bare decimal point");
	is_int(P("{\"a\":.5}"), JSON_PARSE_SYNTAX, "no integer part");
	is_int(P("{\"a\":NaN}"), JSON_PARSE_SYNTAX, "NaN");
	is_int(P("{\"a\":tru}"), JSON_PARSE_SYNTAX, "a truncated literal");
	is_int(P("{'a':1}"), JSON_PARSE_SYNTAX, "single quotes");
	is_int(P("{a:1}"), JSON_PARSE_SYNTAX, "a bare key");

	is_int(P("[]"), JSON_PARSE_SHAPE, "an array at the top is refused");
	is_int(P("\"x\""), JSON_PARSE_SHAPE, "a string at the top is refused");
	is_int(P("null"), JSON_PARSE_SHAPE, "null at the top is refused");
	is_int(P("{\"a\":1,\"a\":2}"), JSON_PARSE_SHAPE,
	    "a duplicate key is refused");
	is_int(P("{\"o\":{\"b\":1,\"c\":2,\"b\":3}}"), JSON_PARSE_SHAPE,
	    "a duplicate key in a nested object is refused");
	is_int(P("{\"a\":1,\"A\":2}"), JSON_PARSE_OK,
	    "keys differing in case are different keys");

	memset(deep, 0, sizeof(deep));
	deep[0] = '{';
	strcat(deep, "\"a\":");
	for (i = 0; i < 40; i++)
		strcat(deep, "[");
	for (i = 0; i < 40; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	is_int(parse(deep, strlen(deep)), JSON_PARSE_SYNTAX,
	    "nesting deeper than MAX_JSON_DEPTH is refused");

	s = "{\"s\":\"abc\",\"n\":42,\"f\":1.5,\"big\":1e300,"
	    "\"e\":1e3,\"b\":true,\"z\":null,\"o\":{},\"l\":[1,2,3],"
	    "\"Case\":\"x\"}";
	json_parse_object(s, strlen(s), &o);
	ok(o != NULL, "getter fixture parses");
	is_int(json_get_str(o, "s", 1, 10, &s), JSON_OK, "string read");
	is_str(s, "abc", "string value");
	is_int(json_get_str(o, "s", 4, 10, &s), JSON_RANGE,
	    "string shorter than the minimum");
	is_int(json_get_str(o, "s", 1, 2, &s), JSON_RANGE,
	    "string longer than the maximum");
	is_int(json_get_str(o, "n", 1, 10, &s), JSON_BADTYPE,
	    "number where a string is wanted");
	is_int(json_get_str(o, "missing", 1, 10, &s), JSON_MISSING,
	    "absent key");
	is_int(json_get_str(o, "z", 1, 10, &s), JSON_MISSING,
	    "null counts as absent");
	is_int(json_get_str(o, "case", 1, 10, &s), JSON_MISSING,
	    "keys are case-sensitive");
	is_int(json_get_int(o, "n", 0, 100, &n), JSON_OK, "integer read");
	is_int(n, 42, "integer value");
	is_int(json_get_int(o, "e", 0, 10000, &n), JSON_OK,
	    "1e3 is an integer");
	is_int(json_get_int(o, "n", 0, 10, &n), JSON_RANGE,
	    "integer over the maximum");
	is_int(json_get_int(o, "f", 0, 10, &n), JSON_RANGE,
	    "a fraction is not an integer");
	is_int(json_get_int(o, "big", 0, INT64_MAX, &n), JSON_RANGE,
	    "1e300 is out of the integer range");
	is_int(json_get_int(o, "s", 0, 10, &n), JSON_BADTYPE,
	    "string where an integer is wanted");
	is_int(json_get_bool(o, "b", &b), JSON_OK, "boolean read");
	is_int(b, 1, "boolean value");
	is_int(json_get_bool(o, "n", &b), JSON_BADTYPE, "number is no boolean");
	is_int(json_get_object(o, "o", &sub), JSON_OK, "object read");
	is_int(json_get_object(o, "l", &sub), JSON_BADTYPE,
	    "array is no object");
	is_int(json_get_array(o, "l", 3, &sub), JSON_OK, "array read");
	is_int(json_get_array(o, "l", 2, &sub), JSON_RANGE,
	    "array over its maximum length");
	cJSON_Delete(o);
	return done_testing();
}
