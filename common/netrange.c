/*
 * Address ranges for the outbound blocklist.  Every address is handled as
 * 16 bytes, IPv4 mapped into ::ffff:0:0/96, so one comparison serves both
 * families and an IPv4-mapped IPv6 address cannot slip past an IPv4 rule.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netrange.h"

/* Ranges no server name may lead to, unless configured as allowed. */
static const char *const blocked_ranges[] = {
	"0.0.0.0/8",		/* "this network" */
	"10.0.0.0/8",		/* private */
	"100.64.0.0/10",	/* CGNAT */
	"127.0.0.0/8",		/* loopback */
	"169.254.0.0/16",	/* link-local */
	"172.16.0.0/12",	/* private */
	"192.0.0.0/24",		/* IETF protocol assignments */
	"192.0.2.0/24",		/* documentation */
	"192.88.99.0/24",	/* 6to4 relay */
	"192.168.0.0/16",	/* private */
	"198.18.0.0/15",	/* benchmarking */
	"198.51.100.0/24",	/* documentation */
	"203.0.113.0/24",	/* documentation */
	"224.0.0.0/4",		/* multicast */
	"240.0.0.0/4",		/* reserved, broadcast */
	"::/128",		/* unspecified */
	"::1/128",		/* loopback */
	"64:ff9b::/96",		/* NAT64 to IPv4: the IPv4 side is unknown */
	"100::/64",		/* discard */
	"2001::/23",		/* IETF protocol assignments */
	"2001:db8::/32",	/* documentation */
	"2002::/16",		/* 6to4: embeds any IPv4 */
	"fc00::/7",		/* unique-local */
	"fe80::/10",		/* link-local */
	"fec0::/10",		/* site-local */
	"ff00::/8",		/* multicast */
};

/*
 * Parses "address/prefix" (or a bare address, a single host) into r.
 * Returns 0 or -1.
 */
int
netrange_parse(const char *s, struct netrange *r)
{
	char		 buf[64], *slash, *end;
	struct in_addr	 a4;
	long		 prefix;
	int		 v4;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		v4 = 1;
		r->addr[10] = r->addr[11] = 0xff;
		memcpy(r->addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1)
		v4 = 0;
	else
		return -1;
	prefix = v4 ? 32 : 128;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		prefix = strtol(slash, &end, 10);
		if (*end != '\0' || prefix < 0 || prefix > (v4 ? 32 : 128))
			return -1;
	}
	r->prefix = (int)prefix + (v4 ? 96 : 0);
	return 0;
}

/* Returns 1 when the 16-byte address a lies in r. */
int
netrange_contains(const struct netrange *r, const unsigned char *a)
{
	int	 full = r->prefix / 8, rest = r->prefix % 8;
	unsigned char mask;

	if (memcmp(r->addr, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (r->addr[full] & mask) == (a[full] & mask);
}

/*
 * Writes the 16-byte form of an AF_INET or AF_INET6 socket address.
 * Returns 0, or -1 for another family.
 */
int
netrange_addr_of(const struct sockaddr *sa, unsigned char *out)
{
	const struct sockaddr_in	*in4;
	const struct sockaddr_in6	*in6;

	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		in4 = (const struct sockaddr_in *)(const void *)sa;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* Returns 1 when a is in one of the built-in blocked ranges. */
int
netrange_blocked(const unsigned char *a)
{
	static struct netrange	 ranges[sizeof(blocked_ranges) /
	    sizeof(blocked_ranges[0])];
	static int		 parsed;
	size_t			 i;

	if (!parsed) {
		for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
			if (netrange_parse(blocked_ranges[i], &ranges[i]) == -1)
				abort();
		parsed = 1;
	}
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (netrange_contains(&ranges[i], a))
			return 1;
	return 0;
}
