/*
 * The client a per-client limit counts: the network of the address the
 * web server passes as REMOTE_ADDR.  An IPv4 address is one client; an
 * IPv6 address counts with every other address of its network (a /64 by
 * default, client_ipv6_prefix), since one subscriber holds a whole /64
 * and could otherwise take a new address, and a fresh limit, for each
 * request.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4
 * address.
 */
#ifndef SIGIL_CLIENTNET_H
#define SIGIL_CLIENTNET_H

#include <stddef.h>

/* Room for any key, its NUL included: an IPv6 text and "/128". */
#define CLIENTNET_KEY_MAX	64

/* The bounds of client_ipv6_prefix: at most a /32 shares one limit. */
#define CLIENTNET_PREFIX_MIN	32
#define CLIENTNET_PREFIX_MAX	128

int	 clientnet_key(const char *, int, char *, size_t);

#endif /* !SIGIL_CLIENTNET_H */
