/*
 * Address ranges for the outbound blocklist.  Every address is handled as
 * 16 bytes, IPv4 mapped into ::ffff:0:0/96, so one comparison serves both
 * families and an IPv4-mapped IPv6 address cannot slip past an IPv4 rule.
 * The other IPv6 forms that carry an IPv4 address (SIIT, NAT64, 6to4,
 * Teredo) are judged by the IPv4 address they carry, so that none of
 * them leads to a blocked IPv4 address through a translator or relay.
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
	/* IPv4-compatible (deprecated, RFC 4291): no route but a legacy
	 * tunnel to the IPv4 address it carries, public or not. */
	"::/96",
	/* Local-use NAT64 (RFC 8215): the IPv4 address's place in it is
	 * the translator's choice, so unknown here. */
	"64:ff9b:1::/48",
	"100::/64",		/* discard */
	/* IETF protocol assignments, 2001::/23, but for Teredo
	 * (2001::/32), judged by the IPv4 addresses it carries. */
	"2001:1::/32", "2001:2::/31", "2001:4::/30", "2001:8::/29",
	"2001:10::/28", "2001:20::/27", "2001:40::/26", "2001:80::/25",
	"2001:100::/24",
	"2001:db8::/32",	/* documentation */
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
 * Returns 1 when the address text addr (a client's REMOTE_ADDR; NULL:
 * unknown) lies in one of the n ranges of list, else 0 (an unknown or
 * malformed address too).
 */
int
netrange_list_has(const struct netrange *list, size_t n, const char *addr)
{
	struct netrange	 a;
	size_t		 i;

	if (addr == NULL || netrange_parse(addr, &a) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (netrange_contains(&list[i], a.addr))
			return 1;
	return 0;
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

/* Returns 1 when a is in one of the listed blocked ranges. */
static int
listed(const unsigned char *a)
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

/*
 * Where an IPv6 form carries an IPv4 address: the form's prefix and the
 * bytes of the 16 that hold the IPv4 address, in order (and, for
 * Teredo's client, inverted: RFC 4380).  The local-use NAT64 prefix
 * 64:ff9b:1::/48 (RFC 8215) is listed whole instead: its operator cuts
 * it at /48 to /96, so where it carries the IPv4 address is unknown.
 */
static const struct embedding {
	const char	*range;
	unsigned char	 at[4];
	unsigned char	 xor;
} embeddings[] = {
	{ "::ffff:0:0:0/96",	{ 12, 13, 14, 15 }, 0 },	/* SIIT */
	{ "64:ff9b::/96",	{ 12, 13, 14, 15 }, 0 },	/* NAT64 */
	{ "2002::/16",		{ 2, 3, 4, 5 }, 0 },		/* 6to4 */
	{ "2001::/32",		{ 4, 5, 6, 7 }, 0 },	/* Teredo server */
	{ "2001::/32",		{ 12, 13, 14, 15 }, 0xff }, /* its client */
};

/*
 * Returns 1 when a is in one of the built-in blocked ranges, or is an
 * IPv6 form carrying an IPv4 address that is.
 */
int
netrange_blocked(const unsigned char *a)
{
	static struct netrange	 forms[sizeof(embeddings) /
	    sizeof(embeddings[0])];
	static int		 parsed;
	const struct embedding	*e;
	unsigned char		 v4[16] = { [10] = 0xff, [11] = 0xff };
	size_t			 i, k;

	if (!parsed) {
		for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
			if (netrange_parse(embeddings[i].range, &forms[i]) ==
			    -1)
				abort();
		parsed = 1;
	}
	if (listed(a))
		return 1;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (!netrange_contains(&forms[i], a))
			continue;
		e = &embeddings[i];
		for (k = 0; k < 4; k++)
			v4[12 + k] = a[e->at[k]] ^ e->xor;
		if (listed(v4))
			return 1;
	}
	return 0;
}
