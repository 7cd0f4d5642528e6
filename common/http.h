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

/*
 * Time limits.  nginx gives a request 15 s in all; a request's outbound
 * steps share http_budget seconds (cfg), each connection gets at most
 * HTTP_CONNECT_TIMEOUT_MS of it to connect, no step starts with less
 * than HTTP_MIN_STEP_MS left, and a peer that sends nothing for
 * HTTP_STALL_S seconds is dropped.
 */
#define HTTP_CONNECT_TIMEOUT_MS	2000
#define HTTP_STALL_S		3
#define HTTP_MIN_STEP_MS	500	/* less left of the budget: no new step */
#define HTTP_MAX_REDIRECTS	3

enum http_res {
	HTTP_OK,		/* a response arrived; see status */
	HTTP_BAD_NAME,		/* not a valid server name */
	HTTP_BLOCKED,		/* every address was on the blocklist */
	HTTP_UNREACHABLE,	/* DNS, connection refused, TLS failure */
	HTTP_TIMEOUT,
	HTTP_TOO_LARGE,		/* the body passed its cap */
	HTTP_BUSY,		/* every outbound slot taken: not sent */
	HTTP_FAILED,		/* anything else */
};

struct http_resp {
	long		 status;	/* HTTP status, when HTTP_OK */
	long		 max_age;	/* Cache-Control max-age, or -1 */
	struct buf	 body;		/* owned; http_resp_free() */
};

/* A POST in flight beside others (sigil-notify); opaque. */
struct http_call;

int		 http_init(const struct cfg *, const char *);
void		 http_free(void);
void		 http_budget_begin(void);
enum http_res	 http_matrix_get(const char *, const char *, size_t,
		    struct http_resp *);
enum http_res	 http_matrix_post(const char *, const char *, const char *,
		    size_t, size_t, struct http_resp *);
int		 http_check(const char *, char *, size_t);
enum http_res	 http_post(const char *, const char *, const char *, size_t,
		    const char *, const char *, size_t, struct http_resp *);
enum http_res	 http_call_post(const char *, const char *, const char *,
		    size_t, size_t, void *, struct http_call **);
struct http_call *http_calls_run(int, int);
const char	*http_call_detail(const struct http_call *);
enum http_res	 http_call_result(const struct http_call *,
		    const struct http_resp **, void **);
void		 http_call_free(struct http_call *);
void		 http_resp_free(struct http_resp *);
const char	*http_res_str(enum http_res);

#endif /* !SIGIL_HTTP_H */
