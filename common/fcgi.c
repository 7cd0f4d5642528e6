/*
 * The only user of <fcgiapp.h>: how a sigil program meets its web server.
 * One single-threaded process per worker: build the context
 * (configuration, key, database), then serve.  Three ways to run, and
 * handlers never know which:
 *
 *  - FastCGI (spawn-fcgi, sigil-supervise, systemd, Apache mod_fcgid):
 *    fd 0 is a listening socket; accept requests on it until SIGTERM or
 *    SIGINT, which end the loop between requests (exit 0): a request
 *    being served is answered first.
 *  - CGI (Apache mod_cgi, suEXEC, lighttpd's mod_cgi; a shared host
 *    where no process of ours may outlive a request): fd 0 is not a
 *    socket and REQUEST_METHOD is set; serve the one request in the
 *    environment and stdin, write a CGI response to stdout, free
 *    everything and exit 0.
 *  - "-t": check the configuration, key and templates, then what the
 *    program reaches (database, replica, SMTP server: app_check), exit;
 *    with "--config-only" the first part only.
 *
 * Either way a request is copied into a struct req, dispatched, and the
 * response written with the headers every response carries.
 *
 * A request's input (FastCGI parameters and body, or a CGI body) must
 * all arrive within request_timeout seconds, counted from when the
 * connection was accepted (from the start, under CGI); else the answer
 * is 408 M_UNKNOWN and the worker is free for the next connection.
 * This bounds a client that trickles its body through a front that
 * streams it (mod_proxy_fcgi), whatever the rate.  Under CGI the input
 * is read before anything else is built (start_program()).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "app.h"
#include "db.h"
#include "fcgi.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "mxerr.h"
#include "req.h"
#include "resp.h"
#include "util.h"

/* A request body past this (bytes) is a big one: see fcgi_main(). */
#define BIG_REQUEST	(64 * 1024)

/* A peek at a connection's first bytes looks this far for its head. */
#define HEAD_PEEK	(32 * 1024)
/* How often a head that came in part is looked at again (ms). */
#define HEAD_RECHECK_MS	20
/* After the deadline, SIGALRM again this often (ms): see deadline_set(). */
#define DEADLINE_REPEAT_MS	100

static volatile sig_atomic_t	 stopping;
/* Set by SIGALRM: the request's input is late (deadline_set()). */
static volatile sig_atomic_t	 input_late;
/* The request_timeout in force, seconds, for the 408's message. */
static int64_t			 deadline_secs;

/* Now in milliseconds of CLOCK_MONOTONIC. */
static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * SIGTERM or SIGINT: stop between requests.  Both are blocked except
 * while the worker waits for a connection (wait_connection()), so one
 * that comes while a request is served waits until it is answered: a
 * supervisor that stops an idle worker, or replaces one, never cuts a
 * request short.
 */
static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* SIGALRM: the request's input did not all come in time. */
static void
on_deadline(int sig)
{
	(void)sig;
	input_late = 1;
}

/*
 * Installs on_deadline() for SIGALRM, without SA_RESTART: the signal
 * ends the read() it interrupts (EINTR), which libfcgi and source_read()
 * take as the end of the input.
 */
static void
deadline_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_deadline;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
}

/*
 * Arms the input deadline of a request_timeout of secs seconds: SIGALRM
 * in ms milliseconds (at least 1), then again every DEADLINE_REPEAT_MS
 * until disarmed, so that a signal that comes just before a read starts
 * (and so interrupts none) is followed by one that does.  input_late is
 * cleared.
 */
static void
deadline_set(int64_t secs, int64_t ms)
{
	struct itimerval	 it;

	memset(&it, 0, sizeof(it));
	input_late = 0;
	deadline_secs = secs;
	if (ms < 1)
		ms = 1;
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	it.it_interval.tv_usec = DEADLINE_REPEAT_MS * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Disarms the input deadline: nothing may interrupt a handler. */
static void
deadline_clear(void)
{
	struct itimerval	 it;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Waits until a connection is pending on the listening socket ep watches
 * or a stop signal came, with the signals of unblocked delivered only
 * during the wait.  Returns 1 when a connection may be accepted (even if
 * a stop came too: this worker was the one woken for it), 0 to stop, -1
 * on an error.  The socket is non-blocking: another worker may take the
 * connection first, and accept() then fails with EAGAIN instead of
 * blocking with the signals blocked.
 */
static int
wait_connection(int ep, const sigset_t *unblocked)
{
	struct epoll_event	 ev;
	int			 n;

	for (;;) {
		if (stopping)
			return 0;
		n = epoll_pwait(ep, &ev, 1, -1, unblocked);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR) {
			log_err("epoll_pwait: %s", strerror(errno));
			return -1;
		}
	}
}

/*
 * The listening socket, fd 0, made non-blocking and watched by a new
 * epoll instance, woken alone (EPOLLEXCLUSIVE: a connection wakes one
 * idle worker, not all of them).  Returns the epoll fd, or -1.
 */
static int
watch_listener(void)
{
	struct epoll_event	 ev;
	int			 ep, fl;

	if ((fl = fcntl(0, F_GETFL)) == -1 ||
	    fcntl(0, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_err("the listening socket: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == -1) {
		log_err("epoll_ctl: %s", strerror(errno));
		close(ep);
		return -1;
	}
	return ep;
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
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "Unknown";
	}
}

/*
 * Where a request comes from: a FastCGI request, or (fr NULL) this CGI
 * process's environment and stdin.
 */
struct source {
	FCGX_Request	*fr;
};

/* The request's parameter name (CGI/1.1 meta-variable), or NULL. */
static const char *
source_param(const struct source *src, const char *name)
{
	if (src->fr != NULL)
		return FCGX_GetParam(name, src->fr->envp);
	return getenv(name);
}

/*
 * Reads up to n body bytes into buf; returns how many, fewer at the end
 * of the input or when it failed or was interrupted (input_late).
 */
static int
source_read(const struct source *src, char *buf, int n)
{
	ssize_t	 got;
	int	 total = 0;

	if (src->fr != NULL)
		return FCGX_GetStr(buf, n, src->fr->in);
	/* CGI: read(2) on fd 0, not stdio, so that SIGALRM ends it. */
	while (total < n && !input_late) {
		got = read(0, buf + total, (size_t)(n - total));
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		total += (int)got;
	}
	return total;
}

/* Copies parameter name, at most max bytes, or NULL if absent. */
static char *
param_copy(const struct source *src, const char *name, size_t max)
{
	const char	*v;

	if ((v = source_param(src, name)) == NULL)
		return NULL;
	return xstrndup(v, strnlen(v, max));
}

/* The first of the parameters names[] that is set and not empty. */
static char *
param_first(const struct source *src, const char *const *names, size_t max)
{
	const char	*v;

	for (; *names != NULL; names++)
		if ((v = source_param(src, *names)) != NULL && *v != '\0')
			return xstrndup(v, strnlen(v, max));
	return NULL;
}

/* The Authorization header: mod_cgi passes it with CGIPassAuth, and a
 * rewrite that copies it into the environment leaves it REDIRECT_'d. */
static const char *const auth_params[] = {
	"HTTP_AUTHORIZATION", "REDIRECT_HTTP_AUTHORIZATION", NULL
};

/*
 * Fills r from the request and reads the body.  Returns 0, or -1 with an
 * error response in rs (body too large, bad length, short read).
 */
static int
read_request(const struct source *src, struct req *r, struct resp *rs)
{
	const char	*method, *len;
	int64_t		 n = 0;
	int		 got;
	char		 drain[4096];

	method = source_param(src, "REQUEST_METHOD");
	r->method = req_method(method == NULL ? "" : method);
	r->path = req_cgi_path(source_param(src, "DOCUMENT_URI"),
	    source_param(src, "REDIRECT_URL"), source_param(src, "SCRIPT_NAME"),
	    source_param(src, "PATH_INFO"), MAX_PATH);
	r->request_uri = param_copy(src, "REQUEST_URI", MAX_PATH + MAX_QUERY);
	if ((r->query_string = param_copy(src, "QUERY_STRING",
	    MAX_QUERY + 1)) == NULL)
		r->query_string = xstrdup("");
	r->content_type = param_copy(src, "CONTENT_TYPE", MAX_HEADER_VALUE);
	r->authorization = param_first(src, auth_params, MAX_AUTH_HEADER + 1);
	r->remote_addr = param_copy(src, "REMOTE_ADDR", MAX_HEADER_VALUE);
	r->redirect_status = param_copy(src, "REDIRECT_STATUS", 8);
	if (strlen(r->path) > MAX_PATH || strlen(r->query_string) > MAX_QUERY) {
		resp_err(rs, MX_TOO_LARGE, "Request URI too long");
		return -1;
	}
	len = source_param(src, "CONTENT_LENGTH");
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
	got = source_read(src, r->body, (int)n);
	if (got != n && input_late) {
		log_warn("a request's body did not arrive within %lld s: 408",
		    (long long)deadline_secs);
		resp_err(rs, MX_REQUEST_TIMEOUT, "The request body did not "
		    "arrive within %lld seconds", (long long)deadline_secs);
		return -1;
	}
	if (got != n) {
		resp_err(rs, MX_INVALID_PARAM, "Request body shorter than "
		    "its Content-Length");
		return -1;
	}
	/* Nothing may follow the announced length. */
	if (source_read(src, drain, sizeof(drain)) > 0) {
		resp_err(rs, MX_TOO_LARGE, "Request body longer than its "
		    "Content-Length");
		return -1;
	}
	r->body[n] = '\0';
	r->body_len = (size_t)n;
	return 0;
}

/* Room for a response's head (response_head()). */
#define HEAD_MAX	(512 + MAX_HEADER_VALUE * 2)

/*
 * Formats the CGI head of rs, with the headers every response carries,
 * into head (HEAD_MAX bytes), with snprintf: libfcgi's own printf knows
 * no %zu.  Returns its length.
 */
static int
response_head(const struct resp *rs, char *head)
{
	char	 retry[40] = "";
	int	 n;

	if (rs->location != NULL && (strlen(rs->location) > MAX_HEADER_VALUE * 2
	    || strpbrk(rs->location, "\r\n") != NULL))
		abort();		/* handlers pass only checked URLs */
	if (rs->retry_after > 0)
		snprintf(retry, sizeof(retry), "Retry-After: %d\r\n",
		    rs->retry_after);
	n = snprintf(head, HEAD_MAX,
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "%s%s%s%s"
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
	    rs->location == NULL ? "" : "\r\n", retry, rs->body.len);
	if (n < 0 || n >= HEAD_MAX)
		abort();
	return n;
}

/*
 * Writes the response rs to the FastCGI request or (fr NULL) to stdout
 * as a CGI response.
 */
static void
write_response(FCGX_Request *fr, const struct resp *rs)
{
	char	 head[HEAD_MAX];
	int	 n;

	n = response_head(rs, head);
	if (fr != NULL) {
		FCGX_PutStr(head, n, fr->out);
		FCGX_PutStr(buf_str(&rs->body), (int)rs->body.len, fr->out);
		return;
	}
	if (fwrite(head, 1, (size_t)n, stdout) != (size_t)n ||
	    fwrite(buf_str(&rs->body), 1, rs->body.len, stdout) !=
	    rs->body.len || fflush(stdout) == EOF)
		log_warn("CGI: the response could not be written: %s",
		    strerror(errno));
}


/*
 * The slow-request log (slow_request): a request that took at least
 * that many seconds since start_ms, its response written, is logged
 * with its route (from the program's table, e.g. "v2/lookup"; never the
 * client's path or query string), duration and status.
 */
static void
log_slow(const struct ctx *c, const struct req *r, const struct resp *rs,
    int64_t start_ms)
{
	int64_t		 ms;
	const char	*api;

	if (c->cfg.slow_request < 0)
		return;
	ms = mono_ms() - start_ms;
	if (ms < c->cfg.slow_request * 1000)
		return;
	if (r->route == NULL) {
		log_warn("slow request: (no route) took %lld ms (status %d)",
		    (long long)ms, rs->status);
		return;
	}
	switch (r->api) {
	case API_V1: api = "v1"; break;
	case API_V2: api = "v2"; break;
	case API_OPS: api = "_sigil"; break;
	case API_ROOT: api = ""; break;
	default: api = "?"; break;
	}
	log_warn("slow request: %s%s%s took %lld ms (status %d)", api,
	    *api != '\0' && *r->route != '\0' ? "/" : "", r->route,
	    (long long)ms, rs->status);
}

/*
 * Returns 1 when the n bytes at b (the start of a FastCGI connection)
 * hold a request's whole head: its records up to the empty FCGI_PARAMS
 * one that ends the parameters.  *id is set to the request id of the
 * FCGI_BEGIN_REQUEST record among them, when there is one.
 */
static int
head_complete(const unsigned char *b, size_t n, int *id)
{
	size_t	 off = 0, clen;

	while (off + FCGI_HEADER_LEN <= n) {
		clen = (size_t)b[off + 4] << 8 | b[off + 5];
		if (b[off + 1] == FCGI_BEGIN_REQUEST)
			*id = b[off + 2] << 8 | b[off + 3];
		else if (b[off + 1] == FCGI_PARAMS && clen == 0)
			return 1;
		off += FCGI_HEADER_LEN + clen + b[off + 6];
	}
	return 0;
}

/*
 * Waits until the connection fd holds a request's whole head (looked
 * at, not read: libfcgi reads it), or until until_ms (mono_ms()).
 * Returns 1 when libfcgi may read it now (a head larger than HEAD_PEEK,
 * a closed or failed connection included: libfcgi finds out), 0 when
 * the time ran out, with *id the request id of the FCGI_BEGIN_REQUEST
 * that came, or -1.
 */
static int
wait_head(int fd, int64_t until_ms, int *id)
{
	static unsigned char	 b[HEAD_PEEK];
	struct pollfd		 pfd;
	ssize_t			 n;
	int64_t			 left;

	*id = -1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR))
			return 1;
		if (n > 0 && (head_complete(b, (size_t)n, id) ||
		    (size_t)n == sizeof(b)))
			return 1;
		if ((left = until_ms - mono_ms()) <= 0)
			return 0;
		/* Bytes that came stay unread, and poll() would return at
		 * once for them: look again a little later instead. */
		if (n > 0)
			poll(NULL, 0, left < HEAD_RECHECK_MS ? (int)left :
			    HEAD_RECHECK_MS);
		else
			poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
	}
}

/* Writes all n bytes of p to fd; returns 0, or -1. */
static int
write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Fills the FastCGI record header h: type, request id, content length. */
static void
record_header(FCGI_Header *h, int type, int id, size_t len)
{
	memset(h, 0, sizeof(*h));
	h->version = FCGI_VERSION_1;
	h->type = (unsigned char)type;
	h->requestIdB1 = (unsigned char)(id >> 8);
	h->requestIdB0 = (unsigned char)id;
	h->contentLengthB1 = (unsigned char)(len >> 8);
	h->contentLengthB0 = (unsigned char)len;
}

/*
 * Answers request id on the connection fd, whose head did not all come,
 * with rs (a short error: one FCGI_STDOUT record), without libfcgi, which
 * has read nothing of it.  Returns 0, or -1 when it could not be written.
 */
static int
answer_raw(int fd, int id, const struct resp *rs)
{
	char			 out[HEAD_MAX + 1024];
	FCGI_Header		 h;
	FCGI_EndRequestBody	 end;
	int			 n;

	n = response_head(rs, out);
	if (rs->body.len > sizeof(out) - (size_t)n)
		return -1;
	memcpy(out + n, buf_str(&rs->body), rs->body.len);
	n += (int)rs->body.len;
	record_header(&h, FCGI_STDOUT, id, (size_t)n);
	if (write_all(fd, &h, sizeof(h)) == -1 ||
	    write_all(fd, out, (size_t)n) == -1)
		return -1;
	record_header(&h, FCGI_STDOUT, id, 0);
	if (write_all(fd, &h, sizeof(h)) == -1)
		return -1;
	record_header(&h, FCGI_END_REQUEST, id, sizeof(end));
	memset(&end, 0, sizeof(end));
	end.protocolStatus = FCGI_REQUEST_COMPLETE;
	if (write_all(fd, &h, sizeof(h)) == -1 ||
	    write_all(fd, &end, sizeof(end)) == -1)
		return -1;
	return 0;
}

/*
 * The connection fd has until until_ms for its request's head: returns 1
 * when it came (libfcgi may read it), else 0 after answering 408 (when
 * the request had begun) and closing fd.
 */
static int
head_in_time(int fd, int64_t until_ms, int64_t secs)
{
	struct resp	 rs;
	int		 id;

	if (wait_head(fd, until_ms, &id) == 1)
		return 1;
	if (id >= 0) {
		log_warn("a request's parameters did not arrive within %lld "
		    "s: 408", (long long)secs);
		memset(&rs, 0, sizeof(rs));
		resp_err(&rs, MX_REQUEST_TIMEOUT, "The request's headers did "
		    "not arrive within %lld seconds", (long long)secs);
		if (answer_raw(fd, id, &rs) == -1)
			log_warn("a late request could not be answered: %s",
			    strerror(errno));
		resp_free(&rs);
		metrics_begin();
		metrics_end(408);
	}
	close(fd);
	return 0;
}

/* Frees what one request used; the database ends its transaction. */
static void
end_request(struct ctx *c, struct req *r, struct resp *rs)
{
	if (c->db != NULL) {
		c->app->needs.db->end_request(c->db);
		if (c->db_read != c->db)
			c->app->needs.db->end_request(c->db_read);
	}
	req_free(r);
	resp_free(rs);
}

/* How the program runs, from its arguments and its fd 0. */
enum run_mode {
	RUN_FASTCGI,		/* workers' loop on the socket at fd 0 */
	RUN_CGI,		/* one request in the environment */
	RUN_CHECK,		/* -t: check the configuration, then exit */
};

/*
 * Builds the parts of c (app_ctx_start()) and opens the shared counters
 * for mode.  Returns 0, or -1 after logging (c then freed).
 */
static int
start_parts(const struct app *app, enum run_mode mode, struct ctx *c)
{
	char	 err[512];

	if (app_ctx_start(c) == -1) {
		app_ctx_free(c);
		return -1;
	}
	/* The shared counters (metrics_dir): with -t only made, not used. */
	if (app_metrics_open(app, c->cfg.metrics_dir, mode != RUN_CHECK, err,
	    sizeof(err)) == -1) {
		log_err("%s", err);
		app_ctx_free(c);
		return -1;
	}
	return 0;
}

/*
 * CGI: the one request in the environment and stdin, answered on
 * stdout.  Returns the exit status: 0 once answered (whatever the
 * answer), 1 when this is no request at all.
 */
static int
serve_cgi(const struct app *app, struct ctx *c)
{
	struct source	 src = { NULL };
	struct req	 r;
	struct resp	 rs;
	int64_t		 start;
	int		 rc;

	if (getenv("REQUEST_METHOD") == NULL) {
		log_err("no request: fd 0 is not a FastCGI socket and "
		    "REQUEST_METHOD is not set; run under spawn-fcgi or a "
		    "web server (FastCGI or CGI), or with -t to check the "
		    "configuration");
		return 1;
	}
	memset(&r, 0, sizeof(r));
	memset(&rs, 0, sizeof(rs));
	start = c->cfg.slow_request < 0 ? 0 : mono_ms();
	/* All the input first, within the deadline, with nothing but the
	 * configuration built: a request that is late or refused ends the
	 * process having taken no database connection. */
	deadline_init();
	deadline_set(c->cfg.request_timeout, c->cfg.request_timeout * 1000);
	rc = read_request(&src, &r, &rs);
	deadline_clear();
	if (rc == -1) {
		write_response(NULL, &rs);
		req_free(&r);
		resp_free(&rs);
		return 0;
	}
	if (start_parts(app, RUN_CGI, c) == -1) {
		req_free(&r);
		return 1;
	}
	metrics_begin();
	app_dispatch(app, c, &r, &rs);
	write_response(NULL, &rs);
	metrics_end(rs.status);
	log_slow(c, &r, &rs, start);
	end_request(c, &r, &rs);
	return 0;
}

/*
 * Decides how the program runs: -t checks, a process started as CGI (no
 * FastCGI socket at fd 0) serves one request, else FastCGI.
 */
static enum run_mode
run_mode(int argc, char **argv)
{
	int	 cgi = FCGX_IsCGI();

	if (argv_has(argc, argv, "-t"))
		return RUN_CHECK;
	return cgi ? RUN_CGI : RUN_FASTCGI;
}

/*
 * Prepares the process for mode and builds the context c of app, with
 * the shared counters; under CGI only its configuration, the rest once
 * the request has all come (serve_cgi()).  Returns 0, or -1 after
 * logging (c then freed).
 */
static int
start_program(const struct app *app, enum run_mode mode, int argc, char **argv,
    struct ctx *c)
{
	/* A process per request says nothing about starting and stopping:
	 * the web server's error log would get two lines per request. */
	if (mode == RUN_CGI) {
		log_quiet_info(1);
		/* One request: no statement is worth preparing, and a
		 * rate limit's lease would never be spent. */
		if (app->needs.db != NULL)
			app->needs.db->one_request();
	}
	if (app_ctx_config(app, argc, argv, c) == -1) {
		app_ctx_free(c);
		return -1;
	}
	/* A CGI request: the rest once its input has come.  Started as
	 * CGI with no request, it builds all and says what is wrong. */
	if (mode == RUN_CGI && getenv("REQUEST_METHOD") != NULL)
		return 0;
	return start_parts(app, mode, c);
}

/*
 * The connection of the next request: the one the last kept (its front
 * asked for FCGI_KEEP_CONN), else one accepted on fd 0 once there is one.
 * Returns its fd, -1 to look again (another worker took it, the client
 * left), -2 to stop (a stop signal, or an error, logged).
 */
static int
next_connection(int ep, const sigset_t *unblocked, const FCGX_Request *fr)
{
	int	 fd;

	if (fr->ipcFd >= 0)
		return fr->ipcFd;
	if (wait_connection(ep, unblocked) != 1)
		return -2;
	if ((fd = accept(0, NULL, NULL)) >= 0)
		return fd;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
	    errno == ECONNABORTED)
		return -1;
	log_err("accept: %s", strerror(errno));
	return -2;
}

/*
 * FastCGI: serves requests on fd 0 until SIGTERM or SIGINT arrives
 * between two.  Returns the exit status: 0, or 1 when the socket cannot
 * be watched.
 */
static int
serve_fastcgi(const struct app *app, struct ctx *c)
{
	FCGX_Request		 fr;
	struct source		 src = { &fr };
	struct req		 r;
	struct resp		 rs;
	struct sigaction	 sa;
	sigset_t		 stop_set, unblocked;
	unsigned long long	 served = 0;
	int64_t			 start_ms, until_ms, secs;
	int			 big, ep, fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_set, &unblocked);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((ep = watch_listener()) == -1)
		return 1;
	FCGX_InitRequest(&fr, 0, 0);
	deadline_init();
	secs = c->cfg.request_timeout;

	memset(&r, 0, sizeof(r));
	memset(&rs, 0, sizeof(rs));
	while ((fd = next_connection(ep, &unblocked, &fr)) != -2) {
		if (fd == -1)
			continue;
		/* The request's head (its parameters) first, looked at
		 * without reading, so that one that does not come in time
		 * is answered here: libfcgi would wait for it. */
		start_ms = mono_ms();
		until_ms = start_ms + secs * 1000;
		if (!head_in_time(fd, until_ms, secs)) {
			fr.ipcFd = -1;
			fr.keepConnection = 0;
			continue;
		}
		/* libfcgi reads the request from fd: marked as kept, the
		 * connection is neither closed first nor replaced by one
		 * it accepts itself.  The body has what is left of the
		 * time; SIGALRM ends a read that outlasts it. */
		fr.ipcFd = fd;
		fr.keepConnection = 1;
		deadline_set(secs, until_ms - mono_ms());
		if ((rc = FCGX_Accept_r(&fr)) < 0) {
			deadline_clear();
			/* A head libfcgi refused (the connection is closed),
			 * then no other connection pending. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK ||
			    rc == -EINTR || rc == -ECONNABORTED)
				continue;
			log_err("accept: %s", strerror(-rc));
			break;
		}
		metrics_begin();
		rc = read_request(&src, &r, &rs);
		deadline_clear();
		if (rc == 0)
			app_dispatch(app, c, &r, &rs);
		write_response(&fr, &rs);
		FCGX_Finish_r(&fr);
		metrics_end(rs.status);
		log_slow(c, &r, &rs, start_ms);
		served++;
		big = r.body_len > BIG_REQUEST;
		end_request(c, &r, &rs);
		/* A list of thousands leaves the heap fragmented: give the
		 * pages back, so a worker's memory stays flat. */
		if (big)
			malloc_trim(0);
	}
	close(ep);
	FCGX_Free(&fr, 1);
	log_info("stopping after %llu requests", served);
	return 0;
}

/*
 * Runs the program app: returns the process exit status, 0 after a
 * SIGTERM between requests or once a CGI request is answered, 1 when it
 * could not start.
 */
int
fcgi_main(const struct app *app, int argc, char **argv)
{
	struct ctx	 ctx;
	enum run_mode	 mode;
	int		 status = 0;

	/* Its routes, for t/make/routes.t: no configuration is read. */
	if (argv_has(argc, argv, "--routes"))
		return app_print_routes(app, stdout);
	log_init(app->name);
	/* A fixed threshold: large buffers are mapped and unmapped rather
	 * than kept in the heap (glibc raises it as it goes otherwise). */
	mallopt(M_MMAP_THRESHOLD, BIG_REQUEST);
	if (FCGX_Init() != 0) {
		log_err("FCGX_Init failed");
		return 1;
	}
	mode = run_mode(argc, argv);
	if (start_program(app, mode, argc, argv, &ctx) == -1)
		return 1;
	switch (mode) {
	case RUN_CGI:
		status = serve_cgi(app, &ctx);
		break;
	case RUN_CHECK:
		/* --config-only: what start-up reads, not what is reached
		 * at run time (sigil-supervise's reload asks that). */
		if (!argv_has(argc, argv, "--config-only"))
			status = app_check(app, &ctx,
			    cfg_path(argc, argv));
		break;
	case RUN_FASTCGI:
		status = serve_fastcgi(app, &ctx);
		break;
	}
	metrics_close();
	app_ctx_free(&ctx);
	return status;
}
