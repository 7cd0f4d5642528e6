/*
 * Outbound HTTPS to Matrix homeservers, through libcurl: server discovery
 * (IP literal, explicit port, .well-known with a cache, SRV, port 8448),
 * certificate checks, timeouts well below nginx's, response size caps,
 * bounded redirects, and a blocklist applied to the address of every
 * connection.  The only module that includes <curl/curl.h>.
 */
#ifndef SIGIL_HTTP_H
#define SIGIL_HTTP_H

#include <stddef.h>

#include "buf.h"

struct cfg;

/* Response size caps (bytes). */
#define HTTP_CAP_USERINFO	(5 * 1024)
#define HTTP_CAP_WELL_KNOWN	(50 * 1024)
#define HTTP_CAP_KEYS		(50 * 1024)
#define HTTP_CAP_SMS		(16 * 1024)
#define HTTP_CAP_ONBIND		(16 * 1024)

/* Time limits, in milliseconds; nginx gives a request 15 s in all. */
#define HTTP_CONNECT_TIMEOUT_MS	2000
#define HTTP_TOTAL_TIMEOUT_MS	4000
#define HTTP_MAX_REDIRECTS	3

enum http_res {
	HTTP_OK,		/* a response arrived; see status */
	HTTP_BAD_NAME,		/* not a valid server name */
	HTTP_BLOCKED,		/* every address was on the blocklist */
	HTTP_UNREACHABLE,	/* DNS, connection refused, TLS failure */
	HTTP_TIMEOUT,
	HTTP_TOO_LARGE,		/* the body passed its cap */
	HTTP_FAILED,		/* anything else */
};

struct http_resp {
	long		 status;	/* HTTP status, when HTTP_OK */
	long		 max_age;	/* Cache-Control max-age, or -1 */
	struct buf	 body;		/* owned; http_resp_free() */
};

int		 http_init(const struct cfg *);
void		 http_free(void);
enum http_res	 http_matrix_get(const char *, const char *, size_t,
		    struct http_resp *);
enum http_res	 http_matrix_post(const char *, const char *, const char *,
		    size_t, size_t, struct http_resp *);
enum http_res	 http_post(const char *, const char *, const char *, size_t,
		    const char *, const char *, size_t, struct http_resp *);
void		 http_resp_free(struct http_resp *);
const char	*http_res_str(enum http_res);

#endif /* !SIGIL_HTTP_H */
