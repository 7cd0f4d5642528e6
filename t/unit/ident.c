/* Unit tests for common/ident: tables of valid and invalid server names
 * and user IDs. */
#include <string.h>

#include "ident.h"
#include "tap.h"

static const char *const good_names[] = {
	"matrix.org", "matrix.org:8888", "1.2.3.4", "1.2.3.4:1234",
	"[1234:5678::abcd]", "[1234:5678::abcd]:5678", "localhost",
	"a", "example.com:65535", "xn--bcher-kva.example", "A-b.C",
	"[::1]", "[::ffff:1.2.3.4]:1", "host:1",
};
static const char *const bad_names[] = {
	"", ":80", "matrix.org:", "matrix.org:0", "matrix.org:080",
	"matrix.org:65536", "matrix.org:123456", "matrix.org:-1",
	"matrix.org:8a", "bad_name", "a..b", ".a", "a b", "a/b", "a@b",
	"[1234:5678::abcd", "1234:5678::abcd", "[]", "[1.2.3.4]",
	"[::1]x", "[zz::1]", "256.1.1.1", "1.2.3", "1.2.3.4.5",
	"example.com:80:80", "\xc3\xa9xample.com",
};

int
main(void)
{
	char	 host[300], big[300];
	int	 port;
	size_t	 i;

	for (i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++)
		ok(ident_server_name_valid(good_names[i]),
		    "server name \"%s\" is valid", good_names[i]);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		ok(!ident_server_name_valid(bad_names[i]),
		    "server name \"%s\" is invalid", bad_names[i]);
	memset(big, 'a', 256);
	big[256] = '\0';
	ok(!ident_server_name_valid(big), "a 256-byte name is invalid");

	ok(ident_server_name_split("[::1]:8448", host, sizeof(host), &port) ==
	    0 && strcmp(host, "[::1]") == 0 && port == 8448,
	    "split keeps IPv6 brackets and reads the port");
	ok(ident_server_name_split("example.org", host, sizeof(host), &port) ==
	    0 && port == 0, "no port reads as 0");
	ok(ident_is_ip_literal("[::1]") && ident_is_ip_literal("10.1.2.3") &&
	    !ident_is_ip_literal("example.org"), "IP literals recognised");

	ok(ident_user_id_valid("@alice:example.org"), "@alice:example.org");
	ok(ident_user_id_valid("@a.b_c=d-e/f+g:[::1]:8448"),
	    "every localpart character, an IPv6 server");
	ok(!ident_user_id_valid("@Alice:example.org"), "upper case refused");
	ok(!ident_user_id_valid("@:example.org"), "empty localpart refused");
	ok(!ident_user_id_valid("alice:example.org"), "no @ refused");
	ok(!ident_user_id_valid("@alice"), "no server refused");
	ok(!ident_user_id_valid("@alice:bad_name"), "a bad server refused");
	ok(!ident_user_id_valid("@al ice:example.org"), "a space refused");
	ok(!ident_user_id_valid("@al\xc3\xa9:example.org"),
	    "non-ASCII refused");
	is_str(ident_user_id_server("@a:example.org:8448"),
	    "example.org:8448", "the server part of a user ID");
	return done_testing();
}
