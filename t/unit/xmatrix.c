/* Unit tests for common/xmatrix: the header grammar the spec allows. */
#include <string.h>

#include "tap.h"
#include "xmatrix.h"

int
main(void)
{
	struct xmatrix	 x[XMATRIX_MAX_CREDENTIALS];
	char		 big[1200];

	is_int(xmatrix_parse("X-Matrix origin=\"hs.example\",key=\"ed25519:a\","
	    "sig=\"c2ln\",destination=\"id.example\"", x, 4), 1,
	    "Synapse's form parses");
	is_str(x[0].origin, "hs.example", "origin");
	is_str(x[0].key, "ed25519:a", "key");
	is_str(x[0].sig, "c2ln", "sig");
	is_str(x[0].destination, "id.example", "destination");
	is_int(xmatrix_parse("x-matrix   SIG=c2ln , Key=ed25519:a ,\torigin="
	    "hs.example:8448, future=\"x,y\"", x, 4), 1,
	    "any case, any order, bare values with colons, OWS, unknown "
	    "parameters");
	is_str(x[0].origin, "hs.example:8448", "bare origin with a port");
	is_int(xmatrix_parse("X-Matrix origin=\"h\\\"s\",key=\"k\",sig=\"s\"",
	    x, 4), 1, "backslash escapes in quotes");
	is_str(x[0].origin, "h\"s", "are unescaped");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k1,sig=s1, X-Matrix "
	    "origin=a,key=k2,sig=s2", x, 4), 2, "two credentials in one value");
	is_str(x[1].key, "k2", "the second's key");
	is_int(xmatrix_parse("Bearer abc", x, 4), -1, "another scheme");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k", x, 4), -1,
	    "no sig");
	is_int(xmatrix_parse("X-Matrix origin=\"a,key=k,sig=s", x, 4), -1,
	    "an unterminated quote");
	is_int(xmatrix_parse("X-Matrix origin=a key=k sig=s", x, 4), -1,
	    "no commas");
	is_int(xmatrix_parse("X-Matrix =a,key=k,sig=s", x, 4), -1,
	    "an empty name");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k,sig=", x, 4), -1,
	    "an empty bare value");
	is_int(xmatrix_parse("X-Matrix origin=a\x01,key=k,sig=s", x, 4), -1,
	    "a control character");
	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Matrix key=k,sig=s,origin=", 28);
	big[sizeof(big) - 1] = '\0';
	is_int(xmatrix_parse(big, x, 4), -1, "an origin over its bound is "
	    "refused, not cut");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k,sig=s,X-Matrix origin=b,"
	    "key=k,sig=s", x, 1), -1, "more credentials than room");
	return done_testing();
}
