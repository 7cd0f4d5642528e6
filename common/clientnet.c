/*
 * The key of a client for the per-client limits (clientnet.h).  A pure
 * function of REMOTE_ADDR and the IPv6 prefix: the same network gives
 * the same key in every worker and on every host, whatever text form of
 * the address its web server wrote.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "clientnet.h"

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

/*
 * Writes into out (len bytes, CLIENTNET_KEY_MAX is enough) the key of
 * the client at addr, REMOTE_ADDR as the web server passed it:
 * - IPv4 "a.b.c.d": the address, "a.b.c.d";
 * - IPv6, in any text form, a zone ("fe80::1%eth0") left out: its
 *   network of v6_prefix bits, as "2001:db8:1:2::/64";
 * - IPv4-mapped IPv6 ("::ffff:a.b.c.d", "::ffff:c000:201"): the IPv4
 *   address, so that a client counts the same through an IPv6 socket
 *   that takes IPv4 connections.
 * v6_prefix is CLIENTNET_PREFIX_MIN to CLIENTNET_PREFIX_MAX (a value
 * outside is held to them).  Returns 0; or -1 when addr is NULL or not
 * an address (a front on a unix socket passes none), and out is then
 * the empty string, the one key all such clients share, so that no
 * text can escape a limit.  out is "" too when len is too small.
 */
int
clientnet_key(const char *addr, int v6_prefix, char *out, size_t len)
{
	char		 buf[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	unsigned char	 a[16];
	size_t		 n;
	int		 i;

	if (len == 0)
		return -1;
	out[0] = '\0';
	if (addr == NULL || (n = strcspn(addr, "%")) >= sizeof(buf))
		return -1;
	memcpy(buf, addr, n);		/* the address without its zone */
	buf[n] = '\0';
	if (addr[n] == '%' && (addr[n + 1] == '\0' || strchr(buf, ':') ==
	    NULL))
		return -1;		/* an empty zone, or one on IPv4 */
	if (inet_pton(AF_INET, buf, a + 12) == 1)
		memcpy(a, v4_mapped, sizeof(v4_mapped));
	else if (inet_pton(AF_INET6, buf, a) != 1)
		return -1;
	if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
		if (inet_ntop(AF_INET, a + 12, text, sizeof(text)) == NULL ||
		    (size_t)snprintf(out, len, "%s", text) >= len) {
			out[0] = '\0';
			return -1;
		}
		return 0;
	}
	if (v6_prefix < CLIENTNET_PREFIX_MIN)
		v6_prefix = CLIENTNET_PREFIX_MIN;
	if (v6_prefix > CLIENTNET_PREFIX_MAX)
		v6_prefix = CLIENTNET_PREFIX_MAX;
	for (i = v6_prefix; i < 128; i++)	/* the host bits, cleared */
		a[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
	if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL ||
	    (size_t)snprintf(out, len, "%s/%d", text, v6_prefix) >= len) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
