/*
 * Outbound HTTPS.  One curl easy handle per process, reused so that
 * connections to a homeserver are kept.  Every socket curl opens passes
 * through http_open_socket(), which refuses addresses on the blocklist
 * (netrange.c) unless the configuration allows their range: whatever a
 * server name, a .well-known answer, an SRV record or a redirect points
 * at, the operator's own network stays out of reach.
 *
 * Time: every request a worker serves starts a budget (http_budget_begin,
 * http_budget seconds); every outbound step of that request (.well-known,
 * SRV, the request itself) gets only what is left of it, so that the
 * worker answers before the web server gives up on it.  A peer that
 * sends nothing for HTTP_STALL_S seconds is dropped sooner.
 *
 * Sharing (common/outbound.c): a call to a homeserver made while
 * serving a request holds one of the program's outbound slots from its
 * discovery to its answer, and is refused at once (HTTP_BUSY) when all
 * are taken; .well-known answers and failures are remembered for the
 * whole host besides this process's own cache.
 *
 * sigil-notify also runs several POSTs at once (http_call_*), each on its
 * own easy handle in one curl multi handle.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "cfg.h"
#include "http.h"
#include "ident.h"
#include "json.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "netrange.h"
#include "outbound.h"
#include "part.h"
#include "util.h"

PART_LINKED(PART_HTTP)

#define WELL_KNOWN_CACHE	64
#define WELL_KNOWN_TTL		(24 * 3600)	/* spec: sensible default */
#define WELL_KNOWN_MAX_TTL	(48 * 3600)	/* spec: recommended maximum */
#define WELL_KNOWN_ERROR_TTL	3600		/* spec: errors up to an hour */

/* Where to send a request for a server name. */
struct target {
	char	 url_host[MAX_SERVER_NAME + 8];	/* host[:port] in the URL */
	char	 connect_to[MAX_SERVER_NAME + NS_MAXDNAME + 32]; /* CONNECT_TO */
	char	 host_header[MAX_SERVER_NAME + 8];	/* "" for the default */
};

/* One cached .well-known answer: the delegated name, or "" for none. */
struct well_known {
	char	 server_name[MAX_SERVER_NAME + 1];
	char	 delegated[MAX_SERVER_NAME + 1];
	time_t	 expires;
	int	 failed;	/* no answer was had */
};

static struct {
	CURL			*curl;
	CURLM			*multi;		/* for http_call_*; lazily */
	const struct cfg	*cfg;		/* borrowed for life */
	int64_t			 deadline;	/* ms; 0: no budget begun */
	struct well_known	 cache[WELL_KNOWN_CACHE];
	size_t			 cache_next;
} http;

struct sink {
	struct buf	*body;
	size_t		 cap;
	int		 over;
};

/*
 * One request in flight: its easy handle (the shared one, or its own for
 * http_call_*), the lists it borrows to curl, and where the answer goes.
 */
struct http_call {
	CURL			*easy;
	int			 own_easy;	/* easy is ours to clean up */
	struct curl_slist	*connect, *headers;
	struct sink		 sink;
	struct http_resp	 resp;		/* for http_call_*; else unused */
	struct http_resp	*out;
	int			 blocked;	/* a socket was refused */
	int			 post;
	int			 done;
	enum http_res		 res;
	const char		*detail;	/* curl's word on a failure */
	char			 url[MAX_SERVER_NAME + 512]; /* for the log */
	void			*arg;
};

/* Milliseconds left of the request's budget (at least 0). */
static int64_t
budget_left(void)
{
	int64_t	 now = now_ms(), full = http.cfg->http_budget * 1000;

	if (http.deadline == 0)
		return full;
	return http.deadline > now ? http.deadline - now : 0;
}

/*
 * Starts a request's budget: every outbound step until the next call
 * shares http_budget seconds from now.
 */
void
http_budget_begin(void)
{
	if (http.cfg != NULL)
		http.deadline = now_ms() + http.cfg->http_budget * 1000;
}

static curl_socket_t
http_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
	int		*blocked = arg;
	unsigned char	 a[16];
	size_t		 i;

	(void)purpose;
	if (netrange_addr_of(&sa->addr, a) == -1)
		return CURL_SOCKET_BAD;
	if (netrange_blocked(a)) {
		for (i = 0; i < http.cfg->n_http_allow; i++)
			if (netrange_contains(&http.cfg->http_allow[i], a))
				break;
		if (i == http.cfg->n_http_allow) {
			*blocked = 1;
			return CURL_SOCKET_BAD;
		}
	}
	return socket(sa->family, sa->socktype, sa->protocol);
}

static size_t
http_write(char *data, size_t size, size_t n, void *arg)
{
	struct sink	*s = arg;

	n *= size;		/* size is 1 by libcurl's contract */
	if (s->body->len + n > s->cap) {
		s->over = 1;
		return 0;		/* makes curl stop with a write error */
	}
	buf_append(s->body, data, n);
	return n;
}

/* Reads Cache-Control: max-age from the response headers. */
static size_t
http_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp	*r = arg;
	char			 line[256], *p;
	size_t			 len = size * n;
	long			 age;

	if (len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	if (strncasecmp(line, "cache-control:", 14) != 0)
		return len;
	for (p = line + 14; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if ((p = strstr(line + 14, "max-age=")) != NULL) {
		age = strtol(p + 8, NULL, 10);
		if (age >= 0)
			r->max_age = age;
	}
	return len;
}

/*
 * Prepares the process's curl handle and its share of the host's
 * outbound state (under metrics_dir) as program.  c is borrowed for the
 * life of the process.  Returns 0 or -1.
 */
int
http_init(const struct cfg *c, const char *program)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (http.curl = curl_easy_init()) == NULL) {
		log_err("http: cannot initialise libcurl");
		return -1;
	}
	http.cfg = c;
	return outbound_open(c->metrics_dir, program, c->outbound_concurrency);
}

/* Releases the curl handles (calls still in flight are the caller's). */
void
http_free(void)
{
	if (http.curl == NULL)
		return;
	outbound_close();
	if (http.multi != NULL)
		curl_multi_cleanup(http.multi);
	http.multi = NULL;
	curl_easy_cleanup(http.curl);
	http.curl = NULL;
	curl_global_cleanup();
}

/* Returns a short description of r for logs and error messages. */
const char *
http_res_str(enum http_res r)
{
	switch (r) {
	case HTTP_OK:
		return "ok";
	case HTTP_BAD_NAME:
		return "not a valid server name";
	case HTTP_BLOCKED:
		return "address not allowed";
	case HTTP_UNREACHABLE:
		return "unreachable";
	case HTTP_TIMEOUT:
		return "timed out";
	case HTTP_TOO_LARGE:
		return "response too large";
	case HTTP_BUSY:
		return "too many outbound calls at once";
	case HTTP_FAILED:
		break;
	}
	return "request failed";
}

/* One outbound request; what http_fetch() needs beyond the URL. */
struct http_req {
	const char	*connect_to;	/* "" for none */
	const char	*host_header;	/* "" for the default */
	const char	*content_type;	/* with body: a POST */
	const char	*body;		/* NULL: a GET */
	size_t		 body_len;
	const char	*userpwd;	/* basic auth "user:password", or NULL */
	const char	*bearer;	/* a Bearer token, or NULL */
	size_t		 cap;		/* response body cap */
};

/*
 * Sets cl->easy up for the request rq to url (https only, also for
 * redirects), its answer going to out with the body capped at rq->cap,
 * and at most ms milliseconds in all.  The body is borrowed until the
 * request is over.
 */
static void
call_prepare(struct http_call *cl, const char *url, const struct http_req *rq,
    struct http_resp *out, int64_t ms)
{
	CURL	*h = cl->easy;
	char	 hdr[MAX_SERVER_NAME + 1024];

	buf_reset(&out->body);
	out->status = 0;
	out->max_age = -1;
	cl->out = out;
	cl->sink = (struct sink){ &out->body, rq->cap, 0 };
	cl->blocked = 0;
	cl->post = rq->body != NULL;
	/* The query may hold a secret (userinfo's access_token): the log
	 * gets the URL without it. */
	snprintf(cl->url, sizeof(cl->url), "%.*s", (int)strcspn(url, "?"),
	    url);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(ms < HTTP_CONNECT_TIMEOUT_MS ? ms : HTTP_CONNECT_TIMEOUT_MS));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ms);
	/* A peer that completes TLS and then says nothing is dropped after
	 * HTTP_STALL_S seconds below one byte a second. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)HTTP_STALL_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http.cfg->http_ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, http.cfg->http_ca_file);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, http_open_socket);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &cl->blocked);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &cl->sink);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sigil");
	curl_easy_setopt(h, CURLOPT_PRIVATE, cl);
	if (*rq->connect_to != '\0') {
		cl->connect = curl_slist_append(NULL, rq->connect_to);
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, cl->connect);
	}
	if (*rq->host_header != '\0') {
		snprintf(hdr, sizeof(hdr), "Host: %s", rq->host_header);
		cl->headers = curl_slist_append(cl->headers, hdr);
	}
	if (rq->body != NULL) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", rq->content_type);
		cl->headers = curl_slist_append(cl->headers, hdr);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->body_len);
		/* A redirect must not turn into a GET or repeat the body. */
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	}
	if (rq->bearer != NULL) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s",
		    rq->bearer);
		cl->headers = curl_slist_append(cl->headers, hdr);
	}
	if (rq->userpwd != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, rq->userpwd);
	}
	if (cl->headers != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, cl->headers);
}

/*
 * Ends the request cl after curl said rc: frees the lists it lent and
 * returns (and records in cl->res) what became of it, logged when it
 * failed (except an http_call_*'s: see http_call_detail).
 */
static enum http_res
call_finish(struct http_call *cl, CURLcode rc)
{
	enum http_res	 res;

	curl_slist_free_all(cl->connect);
	curl_slist_free_all(cl->headers);
	cl->connect = cl->headers = NULL;
	cl->done = 1;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(cl->easy, CURLINFO_RESPONSE_CODE,
		    &cl->out->status);
		return cl->res = HTTP_OK;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT)
		res = HTTP_TIMEOUT;
	else if (rc == CURLE_WRITE_ERROR && cl->sink.over)
		res = HTTP_TOO_LARGE;
	else if (cl->blocked)
		res = HTTP_BLOCKED;
	else if (rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR ||
	    rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING)
		res = HTTP_UNREACHABLE;
	else
		res = HTTP_FAILED;
	cl->detail = curl_easy_strerror(rc);
	/* An http_call_*'s owner says what its failure means itself. */
	if (!cl->own_easy)
		log_warn("http: %s %s: %s (%s)", cl->post ? "POST" : "GET",
		    cl->url, http_res_str(res), cl->detail);
	return cl->res = res;
}

/*
 * Sends the request rq to url on the shared handle, within what is left
 * of the budget, and reads the answer into out (see call_prepare).
 */
static enum http_res
http_fetch(const char *url, const struct http_req *rq, struct http_resp *out)
{
	struct http_call	 cl;
	int64_t			 ms = budget_left();

	/* Too little left to connect and be answered: do not start. */
	if (ms < HTTP_MIN_STEP_MS) {
		log_warn("http: %s %.*s: outbound time budget spent",
		    rq->body == NULL ? "GET" : "POST", (int)strcspn(url, "?"),
		    url);
		buf_reset(&out->body);
		out->status = 0;
		return HTTP_TIMEOUT;
	}
	memset(&cl, 0, sizeof(cl));
	cl.easy = http.curl;
	call_prepare(&cl, url, rq, out, ms);
	return call_finish(&cl, curl_easy_perform(http.curl));
}

/*
 * Looks up the SRV record name; on success writes "target:port" (the
 * record with the lowest priority) into out.  Returns 0, or -1 when
 * there is none.
 */
static int
srv_lookup(const char *name, char *out, size_t outsz)
{
	unsigned char	 answer[4096];
	ns_msg		 msg;
	ns_rr		 rr;
	char		 target[NS_MAXDNAME];
	const unsigned char *rd;
	int		 len, i, count, best = -1;
	unsigned	 prio, best_prio = 65536, port;

	struct __res_state	 rs;
	int64_t			 left = budget_left();

	/* The resolver's own timeouts (5 s, twice) ignore the budget: one
	 * try, with at most what is left of it (in whole seconds). */
	if (left < 1000)
		return -1;
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) == -1)
		return -1;
	rs.retry = 1;
	rs.retrans = left >= 3000 ? 2 : 1;
	len = res_nquery(&rs, name, ns_c_in, ns_t_srv, answer, sizeof(answer));
	res_nclose(&rs);
	if (len <= 0 || ns_initparse(answer, len, &msg) == -1)
		return -1;
	count = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < count; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1 ||
		    ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		rd = ns_rr_rdata(rr);
		prio = (unsigned)rd[0] << 8 | rd[1];
		if (prio >= best_prio)
			continue;
		port = (unsigned)rd[4] << 8 | rd[5];
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6,
		    target, sizeof(target)) < 0 || port == 0 ||
		    strcmp(target, ".") == 0 || target[0] == '\0')
			continue;
		best_prio = prio;
		best = i;
		snprintf(out, outsz, "%s:%u", target, port);
	}
	return best == -1 ? -1 : 0;
}

/*
 * Returns the delegated server name from hostname's .well-known, or NULL
 * when it has none; the result is borrowed from the cache.  Looked up
 * in this process's cache, then in the host's (outbound.c), and only
 * then asked; what was asked is remembered in both.  A .well-known that
 * could not be had (no answer) counts as a remembered failure each time
 * it is taken from a cache instead of asked again.
 */
static const char *
well_known_lookup(const char *hostname)
{
	struct well_known	*w;
	struct http_resp	 resp = { 0, -1, { 0 } };
	struct outbound_memo	 memo;
	cJSON			*doc = NULL;
	const char		*m_server;
	char			 url[MAX_SERVER_NAME + 64];
	time_t			 now = time(NULL), ttl = WELL_KNOWN_ERROR_TTL;
	enum http_res		 res;
	size_t			 i;

	for (i = 0; i < WELL_KNOWN_CACHE; i++) {
		w = &http.cache[i];
		if (strcmp(w->server_name, hostname) == 0 && w->expires > now) {
			if (w->failed)
				metrics_count(METRICS_OUTBOUND_REMEMBERED);
			return w->delegated[0] == '\0' ? NULL : w->delegated;
		}
	}
	w = &http.cache[http.cache_next];
	if (outbound_recall(OUTBOUND_WELL_KNOWN, hostname, &memo) &&
	    (memo.value[0] == '\0' ||
	    ident_server_name_valid(memo.value))) {
		http.cache_next = (http.cache_next + 1) % WELL_KNOWN_CACHE;
		snprintf(w->server_name, sizeof(w->server_name), "%s",
		    hostname);
		snprintf(w->delegated, sizeof(w->delegated), "%s", memo.value);
		w->expires = (time_t)(memo.expires_ms / 1000);
		w->failed = memo.failed;
		if (w->failed)
			metrics_count(METRICS_OUTBOUND_REMEMBERED);
		return w->delegated[0] == '\0' ? NULL : w->delegated;
	}
	/* No time left is no answer from the server: nothing to cache. */
	if (budget_left() < HTTP_MIN_STEP_MS)
		return NULL;
	http.cache_next = (http.cache_next + 1) % WELL_KNOWN_CACHE;
	snprintf(w->server_name, sizeof(w->server_name), "%s", hostname);
	w->delegated[0] = '\0';
	snprintf(url, sizeof(url), "https://%s/.well-known/matrix/server",
	    hostname);
	struct http_req	 rq = { "", "", NULL, NULL, 0, NULL, NULL,
	    HTTP_CAP_WELL_KNOWN };

	if ((res = http_fetch(url, &rq, &resp)) == HTTP_OK &&
	    resp.status == 200 &&
	    json_parse_object(resp.body.data, resp.body.len, &doc) ==
	    JSON_PARSE_OK &&
	    json_get_str(doc, "m.server", 1, MAX_SERVER_NAME, &m_server) ==
	    JSON_OK && ident_server_name_valid(m_server)) {
		snprintf(w->delegated, sizeof(w->delegated), "%s", m_server);
		ttl = resp.max_age >= 0 ? (time_t)resp.max_age :
		    WELL_KNOWN_TTL;
	}
	if (ttl > WELL_KNOWN_MAX_TTL)
		ttl = WELL_KNOWN_MAX_TTL;
	w->expires = now + ttl;
	w->failed = res != HTTP_OK || resp.status >= 500;
	memo.expires_ms = (int64_t)w->expires * 1000;
	memo.failed = w->failed;
	snprintf(memo.value, sizeof(memo.value), "%s", w->delegated);
	outbound_remember(OUTBOUND_WELL_KNOWN, hostname, &memo);
	cJSON_Delete(doc);
	http_resp_free(&resp);
	return w->delegated[0] == '\0' ? NULL : w->delegated;
}

/*
 * Resolves a delegated (or original) name without .well-known: IP
 * literal, explicit port, SRV _matrix-fed._tcp, SRV _matrix._tcp, 8448.
 */
static void
resolve_direct(const char *name, struct target *t)
{
	char	 host[MAX_SERVER_NAME + 1], srv[NS_MAXDNAME + 16];
	char	 query[MAX_SERVER_NAME + 32];
	int	 port;

	ident_server_name_split(name, host, sizeof(host), &port);
	if (ident_is_ip_literal(host) || port != 0) {
		snprintf(t->url_host, sizeof(t->url_host), "%s:%d", host,
		    port == 0 ? 8448 : port);
		snprintf(t->host_header, sizeof(t->host_header), "%s", name);
		return;
	}
	snprintf(query, sizeof(query), "_matrix-fed._tcp.%s", host);
	if (srv_lookup(query, srv, sizeof(srv)) == -1) {
		snprintf(query, sizeof(query), "_matrix._tcp.%s", host);
		if (srv_lookup(query, srv, sizeof(srv)) == -1) {
			snprintf(t->url_host, sizeof(t->url_host), "%s:8448",
			    host);
			snprintf(t->host_header, sizeof(t->host_header), "%s",
			    host);
			return;
		}
	}
	/* Connect to the SRV target; TLS and Host stay the delegated name. */
	snprintf(t->url_host, sizeof(t->url_host), "%s:8448", host);
	snprintf(t->connect_to, sizeof(t->connect_to), "%s:8448:%s", host,
	    srv);
	snprintf(t->host_header, sizeof(t->host_header), "%s", host);
}

/* The spec's "Resolving server names", steps 1 to 4 and on. */
static int
resolve_server(const char *server_name, struct target *t)
{
	char		 host[MAX_SERVER_NAME + 1];
	const char	*delegated;
	int		 port;

	memset(t, 0, sizeof(*t));
	if (ident_server_name_split(server_name, host, sizeof(host), &port) ==
	    -1)
		return -1;
	if (ident_is_ip_literal(host) || port != 0) {
		resolve_direct(server_name, t);
		return 0;
	}
	if ((delegated = well_known_lookup(host)) != NULL)
		resolve_direct(delegated, t);
	else
		resolve_direct(server_name, t);
	return 0;
}

/*
 * Sends a request for path_query (starting with '/', already URL-encoded)
 * to the homeserver server_name, found by server discovery: a GET, or a
 * POST of len bytes of JSON when body is not NULL.  The answer's body is
 * capped at cap bytes.  Returns HTTP_OK with out->status and out->body
 * set (out is the caller's; free it with http_resp_free), or the failure.
 */
static enum http_res
http_matrix_request(const char *server_name, const char *path_query,
    const char *body, size_t len, size_t cap, struct http_resp *out)
{
	struct target	 t;
	struct buf	 url = { 0 };
	enum http_res	 res;

	/* One of the program's outbound slots, from discovery to answer. */
	if (!outbound_enter()) {
		log_warn("http: %s: all %d outbound slots are taken; refused",
		    server_name, outbound_limit());
		metrics_count(METRICS_OUTBOUND_BUSY);
		buf_reset(&out->body);
		out->status = 0;
		return HTTP_BUSY;
	}
	if (resolve_server(server_name, &t) == -1) {
		outbound_leave();
		return HTTP_BAD_NAME;
	}
	buf_printf(&url, "https://%s%s", t.url_host, path_query);
	{
		struct http_req	 rq = { t.connect_to, t.host_header,
		    "application/json", body, len, NULL, NULL, cap };

		res = http_fetch(buf_str(&url), &rq, out);
	}
	outbound_leave();
	buf_free(&url);
	return res;
}

/* GETs path_query from the homeserver server_name (see above). */
enum http_res
http_matrix_get(const char *server_name, const char *path_query, size_t cap,
    struct http_resp *out)
{
	return http_matrix_request(server_name, path_query, NULL, 0, cap, out);
}

/* POSTs len bytes of JSON to path on the homeserver server_name. */
enum http_res
http_matrix_post(const char *server_name, const char *path, const char *body,
    size_t len, size_t cap, struct http_resp *out)
{
	return http_matrix_request(server_name, path, body, len, cap, out);
}

/*
 * POSTs len bytes of body (of content_type) to the https url, with basic
 * auth userpwd or a Bearer token when not NULL; the answer goes to out,
 * its body capped at cap.  The blocklist applies as to any request.
 */
enum http_res
http_post(const char *url, const char *content_type, const char *body,
    size_t len, const char *userpwd, const char *bearer, size_t cap,
    struct http_resp *out)
{
	struct http_req	 rq = { "", "", content_type, body, len, userpwd,
	    bearer, cap };

	return http_fetch(url, &rq, out);
}

/*
 * -t: connects to the https url, TLS and certificate included, through
 * the blocklist as any request would, and sends nothing.  Returns 0, or
 * -1 with the reason in err.
 */
int
http_check(const char *url, char *err, size_t errlen)
{
	struct http_req		 rq = { "", "", NULL, NULL, 0, NULL, NULL, 0 };
	struct http_resp	 out = { 0, -1, { 0 } };
	struct http_call	 cl;
	enum http_res		 res;

	memset(&cl, 0, sizeof(cl));
	cl.easy = http.curl;
	call_prepare(&cl, url, &rq, &out, http.cfg->http_budget * 1000);
	curl_easy_setopt(http.curl, CURLOPT_CONNECT_ONLY, 1L);
	res = call_finish(&cl, curl_easy_perform(http.curl));
	curl_easy_reset(http.curl);
	http_resp_free(&out);
	if (res == HTTP_OK)
		return 0;
	snprintf(err, errlen, "%s (%s)", http_res_str(res),
	    cl.detail != NULL ? cl.detail : "");
	return -1;
}

/* Returns the call that curl says has ended, finished, or NULL. */
static struct http_call *
call_ended(void)
{
	struct http_call	*cl;
	CURLMsg			*m;
	CURLcode		 rc;
	char			*priv;
	int			 left;

	while ((m = curl_multi_info_read(http.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		cl = (struct http_call *)(void *)priv;
		curl_multi_remove_handle(http.multi, cl->easy);
		call_finish(cl, rc);
		return cl;
	}
	return NULL;
}

/*
 * Starts a POST of len bytes of JSON (body, borrowed until the call is
 * freed) to path on the homeserver server_name, to run beside other calls
 * in http_calls_run(), with http_budget seconds in all; server discovery
 * happens here, within the current budget.  arg is the caller's, given
 * back by http_call_result().  Returns HTTP_OK with *out set (the
 * caller's: http_call_free), or the failure with *out NULL.
 */
enum http_res
http_call_post(const char *server_name, const char *path, const char *body,
    size_t len, size_t cap, void *arg, struct http_call **out)
{
	struct target		 t;
	struct http_call	*cl;
	struct buf		 url = { 0 };

	*out = NULL;
	if (http.multi == NULL && (http.multi = curl_multi_init()) == NULL)
		return HTTP_FAILED;
	if (resolve_server(server_name, &t) == -1)
		return HTTP_BAD_NAME;
	cl = xcalloc(1, sizeof(*cl));
	if ((cl->easy = curl_easy_init()) == NULL) {
		free(cl);
		return HTTP_FAILED;
	}
	cl->own_easy = 1;
	cl->arg = arg;
	buf_printf(&url, "https://%s%s", t.url_host, path);
	{
		struct http_req	 rq = { t.connect_to, t.host_header,
		    "application/json", body, len, NULL, NULL, cap };

		call_prepare(cl, buf_str(&url), &rq, &cl->resp,
		    http.cfg->http_budget * 1000);
	}
	buf_free(&url);
	if (curl_multi_add_handle(http.multi, cl->easy) != CURLM_OK) {
		http_call_free(cl);
		return HTTP_FAILED;
	}
	*out = cl;
	return HTTP_OK;
}

/*
 * Runs the calls in flight for up to timeout_ms, returning sooner when
 * one ends or when wake_fd (-1: none) becomes readable.  Returns a call
 * that has ended (see http_call_result), or NULL.
 */
struct http_call *
http_calls_run(int timeout_ms, int wake_fd)
{
	struct curl_waitfd	 wfd = { wake_fd, CURL_WAIT_POLLIN, 0 };
	struct http_call	*cl;
	int			 running;

	if (http.multi == NULL && (http.multi = curl_multi_init()) == NULL)
		return NULL;
	if ((cl = call_ended()) != NULL)
		return cl;
	curl_multi_perform(http.multi, &running);
	if ((cl = call_ended()) != NULL)
		return cl;
	curl_multi_poll(http.multi, wake_fd >= 0 ? &wfd : NULL,
	    wake_fd >= 0 ? 1 : 0, timeout_ms, NULL);
	curl_multi_perform(http.multi, &running);
	return call_ended();
}

/*
 * What became of the ended call cl: the result, and with HTTP_OK the
 * answer in *resp (borrowed from cl); *arg is what http_call_post got.
 */
enum http_res
http_call_result(const struct http_call *cl, const struct http_resp **resp,
    void **arg)
{
	*resp = &cl->resp;
	*arg = cl->arg;
	return cl->done ? cl->res : HTTP_FAILED;
}

/*
 * curl's words on why the ended call cl failed ("Couldn't connect to
 * server"; static), or "" when it did not: an http_call_* failure is not
 * logged here, for its owner to say it once with what it means.
 */
const char *
http_call_detail(const struct http_call *cl)
{
	return cl->detail != NULL ? cl->detail : "";
}

/* Stops cl when it is still running and frees it. */
void
http_call_free(struct http_call *cl)
{
	if (cl == NULL)
		return;
	if (!cl->done && http.multi != NULL)
		curl_multi_remove_handle(http.multi, cl->easy);
	curl_slist_free_all(cl->connect);
	curl_slist_free_all(cl->headers);
	if (cl->own_easy)
		curl_easy_cleanup(cl->easy);
	http_resp_free(&cl->resp);
	free(cl);
}

/* Frees the body of a response. */
void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
	r->status = 0;
}
