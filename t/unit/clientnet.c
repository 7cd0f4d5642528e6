/*
 * Unit tests for common/clientnet: the key a per-client limit counts, for
 * every form REMOTE_ADDR can take.
 */
#include <string.h>

#include "clientnet.h"
#include "tap.h"

struct form {
	const char	*addr;
	int		 prefix;
	int		 rc;
	const char	*key;
};

int
main(void)
{
	static const struct form forms[] = {
		/* IPv4: the address itself. */
		{ "192.0.2.1", 64, 0, "192.0.2.1" },
		{ "255.255.255.255", 64, 0, "255.255.255.255" },
		/* IPv6, full and compressed: its /64. */
		{ "2001:0db8:0001:0002:0003:0004:0005:0006", 64, 0,
		    "2001:db8:1:2::/64" },
		{ "2001:db8:1:2:ffff:ffff:ffff:ffff", 64, 0,
		    "2001:db8:1:2::/64" },
		{ "2001:DB8:1:2::a", 64, 0, "2001:db8:1:2::/64" },
		{ "2001:db8::1", 64, 0, "2001:db8::/64" },
		{ "2001:db8:0:0:1::", 64, 0, "2001:db8::/64" },
		{ "2001:db8:0:1::1", 64, 0, "2001:db8:0:1::/64" },
		{ "2001::1:2:3:4:5", 64, 0, "2001:0:0:1::/64" },
		{ "::1", 64, 0, "::/64" },
		{ "::", 64, 0, "::/64" },
		/* Zone ids are left out. */
		{ "fe80::1%eth0", 64, 0, "fe80::/64" },
		{ "fe80::2:3:4:5%25", 64, 0, "fe80::/64" },
		/* IPv4-mapped: the IPv4 address, in either text form. */
		{ "::ffff:192.0.2.1", 64, 0, "192.0.2.1" },
		{ "::FFFF:c000:0201", 64, 0, "192.0.2.1" },
		{ "0:0:0:0:0:ffff:192.0.2.1", 128, 0, "192.0.2.1" },
		/* The prefix, its bounds, and beyond them held to them. */
		{ "2001:db8:1:2:3:4:5:6", 32, 0, "2001:db8::/32" },
		{ "2001:db8:ffff:2:3:4:5:6", 48, 0, "2001:db8:ffff::/48" },
		{ "2001:db8:1:2:3:4:5:6", 56, 0, "2001:db8:1::/56" },
		{ "2001:db8:1:2ff:3:4:5:6", 56, 0, "2001:db8:1:200::/56" },
		{ "2001:db8:1:2:3:4:5:6", 127, 0, "2001:db8:1:2:3:4:5:6/127" },
		{ "2001:db8:1:2:3:4:5:7", 127, 0, "2001:db8:1:2:3:4:5:6/127" },
		{ "2001:db8:1:2:3:4:5:7", 128, 0, "2001:db8:1:2:3:4:5:7/128" },
		{ "2001:db8:1:2:3:4:5:7", 200, 0, "2001:db8:1:2:3:4:5:7/128" },
		{ "2001:db8:1:2:3:4:5:7", 0, 0, "2001:db8::/32" },
		/* Garbage: -1 and the one shared key, "". */
		{ "", 64, -1, "" },
		{ "unix:", 64, -1, "" },
		{ "localhost", 64, -1, "" },
		{ "192.0.2.1 ", 64, -1, "" },
		{ "192.0.2", 64, -1, "" },
		{ "192.0.2.256", 64, -1, "" },
		{ "192.0.2.1%eth0", 64, -1, "" },
		{ "fe80::1%", 64, -1, "" },
		{ "[2001:db8::1]", 64, -1, "" },
		{ "2001:db8::1/64", 64, -1, "" },
		{ "2001:db8::1::2", 64, -1, "" },
		{ "2001:db8:1:2:3:4:5:6:7", 64, -1, "" },
		{ "12345::1", 64, -1, "" },
		{ "2001:db8:0000:0000:0000:0000:0000:0000:0000:0001", 64, -1,
		    "" },
	};
	char		 key[CLIENTNET_KEY_MAX], small[8];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(key, 'x', sizeof(key));
		rc = clientnet_key(forms[i].addr, forms[i].prefix, key,
		    sizeof(key));
		is_int(rc, forms[i].rc, "\"%s\" /%d: %s", forms[i].addr,
		    forms[i].prefix, rc == 0 ? "an address" : "refused");
		is_str(key, forms[i].key, "... its key is \"%s\"",
		    forms[i].key);
	}
	memset(key, 'x', sizeof(key));
	is_int(clientnet_key(NULL, 64, key, sizeof(key)), -1,
	    "no REMOTE_ADDR: refused");
	is_str(key, "", "... with the shared key");
	is_int(clientnet_key("2001:db8::1", 64, small, sizeof(small)), -1,
	    "a key longer than the room: refused");
	is_str(small, "", "... and nothing half-written");
	is_int(clientnet_key("192.0.2.1", 64, small, sizeof(small)), -1,
	    "an IPv4 key longer than the room too");
	ok(clientnet_key("192.0.2.1", 64, key, 0) == -1, "no room at all");
	return done_testing();
}
