/* Unit tests for common/netrange: parsing ranges, and the blocklist. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "netrange.h"
#include "tap.h"

static int
blocked(const char *ip)
{
	struct netrange	 r;

	if (netrange_parse(ip, &r) == -1)
		return -1;
	return netrange_blocked(r.addr);
}

int
main(void)
{
	static const char *const blocked_ips[] = {
		"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255",
		"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1",
		"2002:a00:1::", "2001:db8::1",
	};
	static const char *const open_ips[] = {
		"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1",
		"2606:4700::1111", "::ffff:8.8.8.8",
	};
	struct netrange	 r;
	size_t		 i;

	for (i = 0; i < sizeof(blocked_ips) / sizeof(blocked_ips[0]); i++)
		is_int(blocked(blocked_ips[i]), 1, "%s is blocked",
		    blocked_ips[i]);
	for (i = 0; i < sizeof(open_ips) / sizeof(open_ips[0]); i++)
		is_int(blocked(open_ips[i]), 0, "%s is not blocked",
		    open_ips[i]);

	ok(netrange_parse("127.0.0.1/32", &r) == 0, "a /32 parses");
	ok(netrange_contains(&r, (struct netrange){ 0 }.addr) == 0,
	    "and does not contain ::");
	ok(netrange_parse("10.0.0.0/8", &r) == 0, "10.0.0.0/8 parses");
	{
		struct netrange	 a;

		netrange_parse("10.200.1.1", &a);
		ok(netrange_contains(&r, a.addr), "and contains 10.200.1.1");
		netrange_parse("11.0.0.1", &a);
		ok(!netrange_contains(&r, a.addr), "but not 11.0.0.1");
	}
	ok(netrange_parse("10.0.0.0/33", &r) == -1, "/33 on IPv4 refused");
	ok(netrange_parse("::/129", &r) == -1, "/129 refused");
	ok(netrange_parse("10.0.0.0/", &r) == -1, "an empty prefix refused");
	ok(netrange_parse("10.0.0.0/8x", &r) == -1, "junk after the prefix");
	ok(netrange_parse("example.org", &r) == -1, "a name is no range");
	return done_testing();
}
