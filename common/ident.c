/*
 * Server names: hostname [":" port], where hostname is a dotted-quad IPv4
 * literal, a bracketed IPv6 literal or a DNS name, and port is 1-65535
 * without leading zeros.  User IDs: "@" localpart ":" server_name, the
 * localpart in [a-z0-9._=/+-], 255 bytes at most in all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "bounds.h"

static int
ipv4_valid(const char *s, size_t n)
{
	char		 buf[16];
	struct in_addr	 a;
	size_t		 i, dots = 0;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return dots == 3 && inet_pton(AF_INET, buf, &a) == 1;
}

static int
ipv6_valid(const char *s, size_t n)
{
	char		 buf[64];
	struct in6_addr	 a;

	if (n < 2 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

static int
dns_name_valid(const char *s, size_t n)
{
	size_t	 i, label = 0;

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;	/* empty label */
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/*
 * Splits a server name into its hostname (written to host, hostsz bytes,
 * brackets kept for IPv6) and port (*port, 0 when none).  Returns 0, or
 * -1 when the name is not valid by the grammar.
 */
int
ident_server_name_split(const char *s, char *host, size_t hostsz, int *port)
{
	const char	*end, *colon;
	size_t		 len = strlen(s), hlen;
	long		 p = 0;
	char		*pend;

	if (len == 0 || len > MAX_SERVER_NAME)
		return -1;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL ||
		    !ipv6_valid(s + 1, (size_t)(end - s - 1)))
			return -1;
		end++;
	} else {
		end = (colon = strchr(s, ':')) == NULL ? s + len : colon;
		hlen = (size_t)(end - s);
		if (!ipv4_valid(s, hlen) && !dns_name_valid(s, hlen))
			return -1;
		/* All digits and dots but not an IPv4 address: refuse. */
		if (strspn(s, "0123456789.") >= hlen && !ipv4_valid(s, hlen))
			return -1;
	}
	if (*end != '\0') {
		if (*end != ':' || end[1] < '1' || end[1] > '9' ||
		    strlen(end + 1) > 5)
			return -1;
		errno = 0;
		p = strtol(end + 1, &pend, 10);
		if (errno != 0 || *pend != '\0' || p < 1 || p > 65535)
			return -1;
	}
	hlen = (size_t)(end - s);
	if (host != NULL) {
		if (hlen >= hostsz)
			return -1;
		memcpy(host, s, hlen);
		host[hlen] = '\0';
	}
	if (port != NULL)
		*port = (int)p;
	return 0;
}

/* Returns 1 when s is a valid server name. */
int
ident_server_name_valid(const char *s)
{
	return ident_server_name_split(s, NULL, 0, NULL) == 0;
}

/* Returns 1 when the hostname h (brackets kept) is an IP literal. */
int
ident_is_ip_literal(const char *h)
{
	size_t	 n = strlen(h);

	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		return ipv6_valid(h + 1, n - 2);
	return ipv4_valid(h, n);
}

/* Returns 1 when s is a valid user ID (current grammar, not historical). */
int
ident_user_id_valid(const char *s)
{
	const char	*p;

	if (s[0] != '@' || strlen(s) > MAX_USER_ID)
		return 0;
	for (p = s + 1; *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("._=-/+", *p) != NULL) || *p == '\0')
			return 0;
	return p > s + 1 && ident_server_name_valid(p + 1);
}

/* Returns the server name part of a valid user ID, borrowed from it. */
const char *
ident_user_id_server(const char *user_id)
{
	return strchr(user_id, ':') + 1;
}

/*
 * Returns 1 when id is "ed25519:" followed by 1 or more of [a-zA-Z0-9_],
 * the key id grammar of the spec, and fits MAX_KEY_ID.
 */
int
ident_key_id_valid(const char *id)
{
	const char	*p;

	if (strncmp(id, "ed25519:", 8) != 0 || id[8] == '\0' ||
	    strlen(id) > MAX_KEY_ID)
		return 0;
	for (p = id + 8; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}
