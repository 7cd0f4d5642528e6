/*
 * The only user of <fcgiapp.h>.  One single-threaded process per worker:
 * build the context (configuration, key, database), then accept requests
 * on fd 0 (the socket spawn-fcgi hands over), copy what the request says
 * into a struct req, dispatch, and write the response with the headers
 * every response carries.  SIGTERM or SIGINT ends the loop between
 * requests and the process exits 0 after freeing everything.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "app.h"
#include "db.h"
#include "fcgi.h"
#include "bounds.h"
#include "log.h"
#include "mxerr.h"
#include "ratelimit.h"
#include "req.h"
#include "resp.h"
#include "util.h"

/* Weak, as in app.c: a program without a database links no libpq. */
#pragma weak db_end_request
#pragma weak ratelimit_no_leases

/* A request body past this (bytes) is a big one: see fcgi_main(). */
#define BIG_REQUEST	(64 * 1024)

static volatile sig_atomic_t	 stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Unknown";
	}
}

/* Copies FastCGI parameter name, at most max bytes, or NULL if absent. */
static char *
param_copy(FCGX_Request *fr, const char *name, size_t max)
{
	const char	*v;

	if ((v = FCGX_GetParam(name, fr->envp)) == NULL)
		return NULL;
	return xstrndup(v, strnlen(v, max));
}

/*
 * Fills r from the FastCGI request and reads the body.  Returns 0, or -1
 * with an error response in rs (body too large, bad length, short read).
 */
static int
read_request(FCGX_Request *fr, struct req *r, struct resp *rs)
{
	const char	*method, *len;
	int64_t		 n = 0;
	int		 got;
	char		 drain[4096];

	method = FCGX_GetParam("REQUEST_METHOD", fr->envp);
	r->method = req_method(method == NULL ? "" : method);
	if ((r->path = param_copy(fr, "DOCUMENT_URI", MAX_PATH + 1)) == NULL &&
	    (r->path = param_copy(fr, "SCRIPT_NAME", MAX_PATH + 1)) == NULL)
		r->path = xstrdup("");
	r->request_uri = param_copy(fr, "REQUEST_URI", MAX_PATH + MAX_QUERY);
	if ((r->query_string = param_copy(fr, "QUERY_STRING",
	    MAX_QUERY + 1)) == NULL)
		r->query_string = xstrdup("");
	r->content_type = param_copy(fr, "CONTENT_TYPE", MAX_HEADER_VALUE);
	r->authorization = param_copy(fr, "HTTP_AUTHORIZATION",
	    MAX_AUTH_HEADER + 1);
	r->remote_addr = param_copy(fr, "REMOTE_ADDR", MAX_HEADER_VALUE);
	if (strlen(r->path) > MAX_PATH || strlen(r->query_string) > MAX_QUERY) {
		resp_err(rs, MX_TOO_LARGE, "Request URI too long");
		return -1;
	}
	len = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	if (len != NULL && *len != '\0' &&
	    parse_int64(len, 0, INT64_MAX, &n) == -1) {
		resp_err(rs, MX_INVALID_PARAM, "Bad Content-Length");
		return -1;
	}
	if (n > MAX_BODY) {
		resp_err(rs, MX_TOO_LARGE, "Request body over %ld bytes",
		    MAX_BODY);
		return -1;
	}
	if (n == 0)
		return 0;
	r->body = xmalloc((size_t)n + 1);
	got = FCGX_GetStr(r->body, (int)n, fr->in);
	if (got != n) {
		resp_err(rs, MX_INVALID_PARAM, "Request body shorter than "
		    "its Content-Length");
		return -1;
	}
	/* Nothing may follow the announced length. */
	if (FCGX_GetStr(drain, sizeof(drain), fr->in) > 0) {
		resp_err(rs, MX_TOO_LARGE, "Request body longer than its "
		    "Content-Length");
		return -1;
	}
	r->body[n] = '\0';
	r->body_len = (size_t)n;
	return 0;
}

/*
 * Writes the response with the headers every response carries.  The head
 * is formatted here with snprintf: libfcgi's own printf knows no %zu.
 */
static void
write_response(FCGX_Request *fr, const struct resp *rs)
{
	char	 head[512 + MAX_HEADER_VALUE * 2];
	int	 n;

	if (rs->location != NULL && (strlen(rs->location) > MAX_HEADER_VALUE * 2
	    || strpbrk(rs->location, "\r\n") != NULL))
		abort();		/* handlers pass only checked URLs */
	n = snprintf(head, sizeof(head),
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "%s%s%s"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
	    "Access-Control-Allow-Headers: Origin, X-Requested-With, "
	    "Content-Type, Accept, Authorization\r\n"
	    "\r\n", rs->status, http_reason(rs->status),
	    rs->content_type == NULL ? "application/json" : rs->content_type,
	    rs->location == NULL ? "" : "Location: ",
	    rs->location == NULL ? "" : rs->location,
	    rs->location == NULL ? "" : "\r\n", rs->body.len);
	if (n < 0 || (size_t)n >= sizeof(head))
		abort();
	FCGX_PutStr(head, n, fr->out);
	FCGX_PutStr(buf_str(&rs->body), (int)rs->body.len, fr->out);
}

/*
 * Runs the program app: returns the process exit status, 0 after a
 * SIGTERM between requests, 1 when it could not start.
 */
int
fcgi_main(const struct app *app, int argc, char **argv)
{
	FCGX_Request		 fr;
	struct ctx		 ctx;
	struct req		 r;
	struct resp		 rs;
	struct sigaction	 sa;
	unsigned long long	 served = 0;
	int			 big;

	log_init(app->name);
	/* A fixed threshold: large buffers are mapped and unmapped rather
	 * than kept in the heap (glibc raises it as it goes otherwise). */
	mallopt(M_MMAP_THRESHOLD, BIG_REQUEST);
	if (app_ctx_init(app, argc, argv, &ctx) == -1) {
		app_ctx_free(&ctx);
		return 1;
	}
	if (FCGX_Init() != 0) {
		log_err("FCGX_Init failed");
		app_ctx_free(&ctx);
		return 1;
	}
	/* Plain CGI: one request, so a rate limit's lease is never spent. */
	if (FCGX_IsCGI() && ratelimit_no_leases != NULL)
		ratelimit_no_leases();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;		/* no SA_RESTART: accept() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR);

	memset(&r, 0, sizeof(r));
	memset(&rs, 0, sizeof(rs));
	while (!stopping && FCGX_Accept_r(&fr) >= 0) {
		if (read_request(&fr, &r, &rs) == 0)
			app_dispatch(app, &ctx, &r, &rs);
		write_response(&fr, &rs);
		FCGX_Finish_r(&fr);
		served++;
		if (ctx.db != NULL) {
			db_end_request(ctx.db);
			if (ctx.db_read != ctx.db)
				db_end_request(ctx.db_read);
		}
		big = r.body_len > BIG_REQUEST;
		req_free(&r);
		resp_free(&rs);
		/* A list of thousands leaves the heap fragmented: give the
		 * pages back, so a worker's memory stays flat. */
		if (big)
			malloc_trim(0);
	}
	FCGX_Free(&fr, 1);
	log_info("stopping after %llu requests", served);
	app_ctx_free(&ctx);
	return 0;
}
