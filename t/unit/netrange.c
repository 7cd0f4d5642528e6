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
	/*
	 * Every IPv6 form that carries an IPv4 address, judged by the
	 * address it carries: one that leads to a blocked one (refused),
	 * and where the form has a real use one that leads to a public
	 * address (allowed).
	 */
	static const struct {
		const char	*ip, *why;
		int		 blocked;
	} embedded[] = {
		/* IPv4-compatible ::/96, deprecated: refused whole. */
		{ "::127.0.0.1", "IPv4-compatible loopback", 1 },
		{ "::10.0.0.1", "IPv4-compatible private", 1 },
		{ "::8.8.8.8", "IPv4-compatible public (deprecated form)", 1 },
		/* IPv4-mapped ::ffff:0:0/96. */
		{ "::ffff:127.0.0.1", "IPv4-mapped loopback", 1 },
		{ "::ffff:169.254.169.254", "IPv4-mapped link-local", 1 },
		{ "::ffff:8.8.8.8", "IPv4-mapped public", 0 },
		/* SIIT IPv4-translated ::ffff:0:0:0/96. */
		{ "::ffff:0:127.0.0.1", "IPv4-translated loopback", 1 },
		{ "::ffff:0:192.168.1.1", "IPv4-translated private", 1 },
		{ "::ffff:0:8.8.8.8", "IPv4-translated public", 0 },
		/* NAT64 64:ff9b::/96. */
		{ "64:ff9b::127.0.0.1", "NAT64 loopback", 1 },
		{ "64:ff9b::a9fe:a9fe", "NAT64 link-local", 1 },
		{ "64:ff9b::8.8.8.8", "NAT64 public", 0 },
		/* Local-use NAT64 64:ff9b:1::/48: the place is unknown. */
		{ "64:ff9b:1::127.0.0.1", "local-use NAT64 loopback", 1 },
		{ "64:ff9b:1:7f00:0:100::", "local-use NAT64 /48 loopback", 1 },
		{ "64:ff9b:1::8.8.8.8", "local-use NAT64 (refused whole)", 1 },
		/* 6to4 2002::/16, the IPv4 address in bits 16-47. */
		{ "2002:7f00:1::1", "6to4 loopback", 1 },
		{ "2002:c0a8:101::1", "6to4 private", 1 },
		{ "2002:c058:6301::1", "6to4 to the relay anycast", 1 },
		{ "2002:808:808::1", "6to4 public", 0 },
		/* Teredo 2001::/32: the server in bits 32-63, the client
		 * inverted in the last 32 (RFC 4380's example's client is
		 * 192.0.2.45, documentation). */
		{ "2001:0:4136:e378:8000:63bf:3fff:fdd2",
		    "Teredo, RFC 4380's example (documentation client)", 1 },
		{ "2001:0:4136:e378:8000:63bf:80ff:fffe",
		    "Teredo, loopback client", 1 },
		{ "2001:0:a00:1:8000:63bf:f7f7:f7f7",
		    "Teredo, private server", 1 },
		{ "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
		    "Teredo, public server and client", 0 },
		/* The rest of 2001::/23 stays refused. */
		{ "2001:2::1", "2001:2::/48 benchmarking", 1 },
		{ "2001:100::1", "2001::/23 past Teredo", 1 },
	};
	struct netrange	 r;
	size_t		 i;

	for (i = 0; i < sizeof(blocked_ips) / sizeof(blocked_ips[0]); i++)
		is_int(blocked(blocked_ips[i]), 1, "%s is blocked",
		    blocked_ips[i]);
	for (i = 0; i < sizeof(open_ips) / sizeof(open_ips[0]); i++)
		is_int(blocked(open_ips[i]), 0, "%s is not blocked",
		    open_ips[i]);

	for (i = 0; i < sizeof(embedded) / sizeof(embedded[0]); i++)
		is_int(blocked(embedded[i].ip), embedded[i].blocked,
		    "%s (%s) is %s", embedded[i].ip, embedded[i].why,
		    embedded[i].blocked ? "blocked" : "not blocked");

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
