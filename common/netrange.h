/*
 * IP address ranges ("10.0.0.0/8", "fc00::/7") and the built-in list of
 * ranges no outbound request may reach: loopback, private, link-local,
 * CGNAT, multicast, unique-local, documentation and reserved space, and
 * the IPv6 forms that carry an IPv4 address of those (IPv4-compatible,
 * IPv4-mapped, SIIT, NAT64, 6to4, Teredo).
 */
#ifndef SIGIL_NETRANGE_H
#define SIGIL_NETRANGE_H

#include <stddef.h>

struct sockaddr;

struct netrange {
	unsigned char	 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int		 prefix;	/* bits, over the 128 */
};

int	 netrange_parse(const char *, struct netrange *);
int	 netrange_contains(const struct netrange *, const unsigned char *);
int	 netrange_list_has(const struct netrange *, size_t, const char *);
int	 netrange_addr_of(const struct sockaddr *, unsigned char *);
int	 netrange_blocked(const unsigned char *);

#endif /* !SIGIL_NETRANGE_H */
