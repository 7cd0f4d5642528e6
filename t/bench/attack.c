/*
 * The "under attack" rows of make bench: attackers, a stalling homeserver
 * double and one ordinary client, all on loopback.  Not installed, not a
 * sigil program.
 *
 *	bench-attack attack PORT SECONDS SLOW OUTBOUND HSPORT
 *	bench-attack client PORT SECONDS LOOKUP_PATH SID_PREFIX NSIDS TAG
 *
 * attack: SLOW slow clients against the front on 127.0.0.1:PORT, a third
 * each sending their headers a line a second (never ending them), sending
 * a 64 KiB body at 600 bytes a second (above mod_reqtimeout's MinRate of
 * 500) to lookup, requestToken and bind in turn, and holding idle
 * keep-alive connections (a GET, then nothing); each reconnects when the
 * front drops it.  OUTBOUND clients, half sending unauthenticated
 * account/register naming the homeserver double on 127.0.0.1:HSPORT, half
 * X-Matrix unbinds with four credentials naming dead origins
 * (127.0.2.1-64:HSPORT); each sends its next request as soon as the last
 * is answered.  The double accepts on all of those: on 127.0.0.1 it sends
 * the start of a TLS record and then a byte every 0.3 s (a homeserver
 * that trickles), on 127.0.2.x nothing (one that hangs).  Each attacker
 * connects from its own address (127.0.1.1, 127.0.1.2, ...: as many
 * clients, not one).  Runs SECONDS or until SIGTERM, then writes what
 * each kind of attacker got to stdout, a line each.
 *
 * client: one ordinary client for SECONDS: a v1 lookup of LOOKUP_PATH, an
 * email requestToken (a new session and a mail each, client secrets
 * TAG<n>) and a v1 bind of session SID_PREFIX<i> (i from 1 to NSIDS,
 * client_secret cs, as t/bench/bind.lua) in turn, one at a time, 20 ms
 * apart, each on a new connection, each given REQUEST_TIMEOUT seconds
 * (more than the fronts' 15 s, so that their 504 is seen).  Writes
 * "requests seconds p50_ms p99_ms errors detail" to stdout: every
 * request counts in the latencies, failed or not; an error is any answer
 * but 2xx, a timeout or a connection that failed (the detail lists
 * them by request, e.g. "lookup:504x3,bind:timeoutx1", or "-").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ATTACKERS	1000
#define MAX_PEERS	1024
#define DEAD_ORIGINS	64
#define SLOW_BODY_LEN	65536L
#define BODY_CHUNK	60		/* bytes each tick: 600 B/s */
#define TICK		0.1		/* seconds */
#define TRICKLE		0.3		/* seconds between the double's bytes */
#define PEER_LIFE	60.0		/* the double drops a peer after this */
#define OUT_TIMEOUT	30.0		/* an outbound attacker gives up */
#define REQUEST_TIMEOUT	20.0		/* the ordinary client gives up */
#define MAX_STATUS	600

enum kind {
	K_HEADERS,
	K_BODY,
	K_IDLE,
	K_REGISTER,
	K_UNBIND,
	K_COUNT
};

static const char *const kind_name[K_COUNT] = {
	"slow-headers", "slow-bodies", "idle-keepalive", "register", "unbind"
};

struct attacker {
	enum kind	 kind;
	int		 fd;		/* -1: reconnect at t_next */
	int		 answered;	/* the status line was counted */
	const char	*out;		/* what to send at once (static) */
	size_t		 outlen, sent;
	long		 body_left;	/* slow body bytes still to send */
	double		 t_next;	/* next trickle, or reconnect */
	double		 t_start;	/* when this connection was opened */
	char		 in[16];	/* the answer's first bytes */
	size_t		 inlen;
	struct sockaddr_in src;
};

struct peer {			/* a connection to the homeserver double */
	int		 fd;
	int		 trickle;	/* else silent */
	int		 started;	/* the record header was sent */
	double		 t_next, t_start;
};

struct kind_stats {
	unsigned long	 opened, cut, connfail, timeouts;
	unsigned long	 status[MAX_STATUS];
	double		 answer_secs;	/* summed over the answers */
	unsigned long	 answers;
};

static volatile sig_atomic_t	 stopping;
static struct attacker		 atk[MAX_ATTACKERS];
static struct peer		 peers[MAX_PEERS];
static struct kind_stats	 kst[K_COUNT];
static int			 listeners[DEAD_ORIGINS + 1];

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
loopback(struct sockaddr_in *sa, int b, int c, int d, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	sa->sin_addr.s_addr = htonl((127U << 24) | ((unsigned)b << 16) |
	    ((unsigned)c << 8) | (unsigned)d);
}

/*
 * A non-blocking TCP connection from src (NULL: any) to 127.0.0.1:port,
 * under way or made.  Returns the descriptor, or -1.
 */
static int
start_connect(const struct sockaddr_in *src, int port)
{
	struct sockaddr_in	 dst;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	nonblock(fd);
	if (src != NULL && bind(fd, (const struct sockaddr *)src,
	    sizeof(*src)) == -1) {
		close(fd);
		return -1;
	}
	loopback(&dst, 0, 0, 1, port);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The HTTP status in the first bytes of an answer, or 0. */
static int
status_of(const char *in, size_t len)
{
	int	 s = 0, i;

	if (len < 12 || strncmp(in, "HTTP/1.", 7) != 0)
		return 0;
	for (i = 9; i < 12; i++) {
		if (in[i] < '0' || in[i] > '9')
			return 0;
		s = s * 10 + (in[i] - '0');
	}
	return s >= 100 && s < MAX_STATUS ? s : 0;
}

/* ---- attack ---- */

static char	 req_headers[256], req_idle[256], req_body[3][512];
static char	 req_register[1024], req_unbind[DEAD_ORIGINS / 4][2048];
static char	 spaces[BODY_CHUNK];

static void
build_requests(int hsport)
{
	static const char *const body_paths[3] = {
		"/_matrix/identity/api/v1/bulk_lookup",
		"/_matrix/identity/api/v1/validate/email/requestToken",
		"/_matrix/identity/api/v1/3pid/bind"
	};
	char	 body[512], auth[1024], *p;
	int	 i, j, n;

	memset(spaces, ' ', sizeof(spaces));
	snprintf(req_headers, sizeof(req_headers), "GET /_matrix/identity/v2 "
	    "HTTP/1.1\r\nHost: localhost\r\n");
	snprintf(req_idle, sizeof(req_idle), "GET /_matrix/identity/v2 "
	    "HTTP/1.1\r\nHost: localhost\r\n\r\n");
	for (i = 0; i < 3; i++)
		snprintf(req_body[i], sizeof(req_body[i]), "POST %s HTTP/1.1\r\n"
		    "Host: localhost\r\nContent-Type: application/json\r\n"
		    "Content-Length: %ld\r\n\r\n{", body_paths[i],
		    SLOW_BODY_LEN);
	n = snprintf(body, sizeof(body), "{\"access_token\":\"attacktoken\","
	    "\"token_type\":\"Bearer\",\"matrix_server_name\":"
	    "\"127.0.0.1:%d\",\"expires_in\":3600}", hsport);
	snprintf(req_register, sizeof(req_register), "POST "
	    "/_matrix/identity/v2/account/register HTTP/1.1\r\n"
	    "Host: localhost\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n%s", n, body);
	/* Four credentials, each naming another dead origin: a request
	 * fetches the keys of each (the signatures are checked after);
	 * the unbinds take the origins four by four in turn. */
	for (j = 0; j < DEAD_ORIGINS / 4; j++) {
		p = auth;
		for (i = 0; i < 4; i++)
			p += snprintf(p, sizeof(auth) - (size_t)(p - auth),
			    "%sX-Matrix origin=127.0.2.%d:%d,destination="
			    "localhost,key=\"ed25519:a\",sig=\"%s\"",
			    i ? "," : "", 4 * j + i + 1, hsport,
			    "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl");
		n = snprintf(body, sizeof(body), "{\"mxid\":\"@u:127.0.2.%d:"
		    "%d\",\"threepid\":{\"medium\":\"email\",\"address\":"
		    "\"attack@example.org\"}}", 4 * j + 1, hsport);
		snprintf(req_unbind[j], sizeof(req_unbind[j]), "POST "
		    "/_matrix/identity/api/v1/3pid/unbind HTTP/1.1\r\n"
		    "Host: localhost\r\nContent-Type: application/json\r\n"
		    "Authorization: %s\r\nContent-Length: %d\r\n"
		    "Connection: close\r\n\r\n%s", auth, n, body);
	}
}

static void
atk_close(struct attacker *a, double t, int cut)
{
	if (a->fd != -1)
		close(a->fd);
	a->fd = -1;
	if (cut)
		kst[a->kind].cut++;
	a->t_next = t + TICK;
}

static void
atk_open(struct attacker *a, int port, double t)
{
	static unsigned	 turn, unbinds;

	a->answered = 0;
	a->sent = a->inlen = 0;
	a->body_left = 0;
	a->t_start = t;
	a->t_next = t + (a->kind == K_HEADERS ? 1.0 : TICK);
	switch (a->kind) {
	case K_HEADERS:
		a->out = req_headers;
		break;
	case K_BODY:
		a->out = req_body[turn++ % 3];
		a->body_left = SLOW_BODY_LEN - 1;
		break;
	case K_IDLE:
		a->out = req_idle;
		break;
	case K_REGISTER:
		a->out = req_register;
		break;
	case K_UNBIND:
	case K_COUNT:
		a->out = req_unbind[unbinds++ % (DEAD_ORIGINS / 4)];
		break;
	}
	a->outlen = strlen(a->out);
	if ((a->fd = start_connect(&a->src, port)) == -1) {
		kst[a->kind].connfail++;
		a->t_next = t + TICK;
		return;
	}
	kst[a->kind].opened++;
}

/* Sends what is pending of a->out; the trickles go from atk_tick. */
static void
atk_write(struct attacker *a, double t)
{
	ssize_t	 n;

	if (a->sent >= a->outlen)
		return;
	n = send(a->fd, a->out + a->sent, a->outlen - a->sent, MSG_NOSIGNAL);
	if (n > 0)
		a->sent += (size_t)n;
	else if (n == -1 && errno != EAGAIN && errno != EINTR)
		atk_close(a, t, 1);
}

static void
atk_read(struct attacker *a, double t)
{
	char	 buf[4096];
	ssize_t	 n;
	size_t	 k;
	int	 s;

	while ((n = recv(a->fd, buf, sizeof(buf), 0)) > 0) {
		if (a->inlen < sizeof(a->in)) {
			k = sizeof(a->in) - a->inlen;
			if ((size_t)n < k)
				k = (size_t)n;
			memcpy(a->in + a->inlen, buf, k);
			a->inlen += k;
		}
		if (!a->answered && (s = status_of(a->in, a->inlen)) != 0) {
			a->answered = 1;
			kst[a->kind].status[s]++;
			kst[a->kind].answers++;
			kst[a->kind].answer_secs += t - a->t_start;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* Outbound clients ask for Connection: close: an end after
		 * their answer is theirs, not a cut. */
		atk_close(a, t, !(a->answered && (a->kind == K_REGISTER ||
		    a->kind == K_UNBIND)));
	}
}

/* Trickles, timeouts and reconnections due at t. */
static void
atk_tick(struct attacker *a, int port, double t)
{
	char	 line[32];
	size_t	 k;
	int	 n;

	if (a->fd == -1) {
		if (t >= a->t_next)
			atk_open(a, port, t);
		return;
	}
	if ((a->kind == K_REGISTER || a->kind == K_UNBIND) &&
	    t - a->t_start > OUT_TIMEOUT) {
		kst[a->kind].timeouts++;
		atk_close(a, t, 0);
		return;
	}
	if (t < a->t_next || a->sent < a->outlen)
		return;
	if (a->kind == K_HEADERS) {
		n = snprintf(line, sizeof(line), "X-Slow-%lu: a\r\n",
		    (unsigned long)(t * 10) % 100000);
		if (send(a->fd, line, (size_t)n, MSG_NOSIGNAL) == -1 &&
		    errno != EAGAIN)
			atk_close(a, t, 1);
		else
			a->t_next = t + 1.0;
	} else if (a->kind == K_BODY && a->body_left > 0) {
		k = a->body_left < BODY_CHUNK ? (size_t)a->body_left :
		    BODY_CHUNK;
		if (send(a->fd, spaces, k, MSG_NOSIGNAL) == -1 &&
		    errno != EAGAIN)
			atk_close(a, t, 1);
		else {
			a->body_left -= (long)k;
			a->t_next = t + TICK;
		}
	}
}

/* The homeserver double's listeners: 127.0.0.1 and 127.0.2.1-64. */
static int
open_listeners(int hsport)
{
	struct sockaddr_in	 sa;
	int			 i, one = 1;

	for (i = 0; i <= DEAD_ORIGINS; i++) {
		if (i == 0)
			loopback(&sa, 0, 0, 1, hsport);
		else
			loopback(&sa, 0, 2, i, hsport);
		if ((listeners[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    setsockopt(listeners[i], SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one)) == -1 ||
		    bind(listeners[i], (struct sockaddr *)&sa,
		    sizeof(sa)) == -1 || listen(listeners[i], 128) == -1) {
			perror("bench-attack: the homeserver double");
			return -1;
		}
		nonblock(listeners[i]);
	}
	return 0;
}

static void
peer_accept(int lfd, int trickle, double t)
{
	int	 fd, i;

	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		for (i = 0; i < MAX_PEERS && peers[i].fd != -1; i++)
			;
		if (i == MAX_PEERS) {
			close(fd);
			continue;
		}
		nonblock(fd);
		peers[i] = (struct peer){ .fd = fd, .trickle = trickle,
		    .t_next = t + TRICKLE, .t_start = t };
	}
}

/* Reads and drops what a peer sends; closes it when it is done. */
static void
peer_read(struct peer *p)
{
	char	 buf[4096];
	ssize_t	 n;

	while ((n = recv(p->fd, buf, sizeof(buf), 0)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		close(p->fd);
		p->fd = -1;
	}
}

static void
peer_tick(struct peer *p, double t)
{
	/* A TLS handshake record that announces 16 KiB and never ends. */
	static const unsigned char	 head[5] = { 0x16, 0x03, 0x03, 0x40, 0 };
	static const unsigned char	 zero = 0;

	if (t - p->t_start > PEER_LIFE) {
		close(p->fd);
		p->fd = -1;
		return;
	}
	if (!p->trickle || t < p->t_next)
		return;
	if (!p->started) {
		p->started = send(p->fd, head, sizeof(head), MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(head);
	} else
		(void)send(p->fd, &zero, 1, MSG_NOSIGNAL);
	p->t_next = t + TRICKLE;
}

static void
report_kind(enum kind k)
{
	const struct kind_stats	*s = &kst[k];
	int			 i, any = 0;

	printf("%s opened=%lu cut=%lu connfail=%lu timeouts=%lu",
	    kind_name[k], s->opened, s->cut, s->connfail, s->timeouts);
	if (s->answers > 0)
		printf(" mean_answer_s=%.1f", s->answer_secs /
		    (double)s->answers);
	printf(" answers=");
	for (i = 0; i < MAX_STATUS; i++)
		if (s->status[i] > 0) {
			printf("%s%d:%lu", any ? "," : "", i, s->status[i]);
			any = 1;
		}
	printf("%s\n", any ? "" : "-");
}

static int
run_attack(int port, double seconds, int nslow, int nout, int hsport)
{
	static struct pollfd	 pfd[MAX_ATTACKERS + MAX_PEERS +
				    DEAD_ORIGINS + 1];
	int			 who[MAX_ATTACKERS + MAX_PEERS +
				    DEAD_ORIGINS + 1];
	int			 i, n, na = nslow + nout;
	double			 t, end;
	enum kind		 k;

	if (nslow < 0 || nout < 0 || na > MAX_ATTACKERS) {
		fprintf(stderr, "bench-attack: at most %d attackers\n",
		    MAX_ATTACKERS);
		return 1;
	}
	build_requests(hsport);
	for (i = 0; i < MAX_PEERS; i++)
		peers[i].fd = -1;
	if (open_listeners(hsport) == -1)
		return 1;
	t = now();
	end = t + seconds;
	for (i = 0; i < na; i++) {
		if (i < nslow)
			k = i % 3 == 0 ? K_HEADERS : i % 3 == 1 ? K_BODY :
			    K_IDLE;
		else
			k = (i - nslow) % 2 == 0 ? K_REGISTER : K_UNBIND;
		atk[i].kind = k;
		atk[i].fd = -1;
		loopback(&atk[i].src, 0, 1 + i / 250, 1 + i % 250, 0);
		/* Spread the first connections over the first second. */
		atk[i].t_next = t + (double)i / na;
	}
	while (!stopping && now() < end) {
		n = 0;
		for (i = 0; i <= DEAD_ORIGINS; i++) {
			pfd[n] = (struct pollfd){ listeners[i], POLLIN, 0 };
			who[n++] = -1 - i;
		}
		for (i = 0; i < MAX_PEERS; i++)
			if (peers[i].fd != -1) {
				pfd[n] = (struct pollfd){ peers[i].fd,
				    POLLIN, 0 };
				who[n++] = MAX_ATTACKERS + i;
			}
		for (i = 0; i < na; i++)
			if (atk[i].fd != -1) {
				pfd[n] = (struct pollfd){ atk[i].fd,
				    (short)(POLLIN | (atk[i].sent <
				    atk[i].outlen ? POLLOUT : 0)), 0 };
				who[n++] = i;
			}
		if (poll(pfd, (nfds_t)n, 50) == -1 && errno != EINTR)
			break;
		t = now();
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (who[i] < 0)
				peer_accept(pfd[i].fd, who[i] == -1, t);
			else if (who[i] >= MAX_ATTACKERS) {
				if (peers[who[i] - MAX_ATTACKERS].fd != -1)
					peer_read(&peers[who[i] -
					    MAX_ATTACKERS]);
			} else if (atk[who[i]].fd == pfd[i].fd) {
				if (pfd[i].revents & POLLOUT)
					atk_write(&atk[who[i]], t);
				if (atk[who[i]].fd != -1 &&
				    pfd[i].revents & (POLLIN | POLLHUP |
				    POLLERR))
					atk_read(&atk[who[i]], t);
			}
		}
		for (i = 0; i < MAX_PEERS; i++)
			if (peers[i].fd != -1)
				peer_tick(&peers[i], t);
		for (i = 0; i < na; i++)
			atk_tick(&atk[i], port, t);
	}
	for (i = 0; i < na; i++)
		if (atk[i].fd != -1)
			close(atk[i].fd);
	for (k = 0; k < K_COUNT; k++)
		report_kind(k);
	return 0;
}

/* ---- the ordinary client ---- */

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * One request on a new connection, given REQUEST_TIMEOUT seconds.
 * Returns its HTTP status, 0 for a timeout, -1 for a connection that
 * failed or an answer that was not HTTP.
 */
static int
one_request(int port, const char *req)
{
	struct pollfd	 p;
	char		 in[16];
	char		 buf[4096];
	size_t		 len = strlen(req), sent = 0, inlen = 0, k;
	ssize_t		 n;
	double		 end = now() + REQUEST_TIMEOUT, left;
	int		 fd, status = -1;

	if ((fd = start_connect(NULL, port)) == -1)
		return -1;
	for (;;) {
		if ((left = end - now()) <= 0) {
			status = 0;
			break;
		}
		p = (struct pollfd){ fd, (short)(sent < len ? POLLOUT :
		    POLLIN), 0 };
		if (poll(&p, 1, (int)(left * 1000) + 1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p.revents == 0)
			continue;
		if (sent < len) {
			n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				break;
			if (n > 0)
				sent += (size_t)n;
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			status = status_of(in, inlen);
			if (status == 0)
				status = -1;
			break;
		}
		if (inlen < sizeof(in)) {
			k = sizeof(in) - inlen;
			if ((size_t)n < k)
				k = (size_t)n;
			memcpy(in + inlen, buf, k);
			inlen += k;
		}
	}
	close(fd);
	return status;
}

static int
run_client(int port, double seconds, const char *lookup,
    const char *sid_prefix, int nsids, const char *tag)
{
	static const char *const what[3] = { "lookup", "requestToken",
	    "bind" };
	static double	 lat[100000];
	/* Per request kind; status MAX_STATUS: timeout, + 1: connection. */
	static unsigned	 errs[3][MAX_STATUS + 2];
	char		 req[2048], body[512];
	double		 t0, t, end;
	size_t		 n = 0, i, k;
	unsigned	 nerr = 0;
	int		 s, len, any = 0;

	t0 = now();
	end = t0 + seconds;
	while ((t = now()) < end && n < sizeof(lat) / sizeof(lat[0])) {
		k = n % 3;
		if (k == 0)
			snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
			    "Host: localhost\r\nConnection: close\r\n\r\n",
			    lookup);
		else {
			if (k == 1)
				len = snprintf(body, sizeof(body),
				    "{\"client_secret\":\"%s%zu\","
				    "\"email\":\"%s%zu@example.org\","
				    "\"send_attempt\":1}", tag, n, tag, n);
			else
				len = snprintf(body, sizeof(body),
				    "{\"sid\":\"%s%zu\",\"client_secret\":"
				    "\"cs\",\"mxid\":\"@b%zu:example.org\"}",
				    sid_prefix, n / 3 % (size_t)nsids + 1,
				    n / 3 % (size_t)nsids + 1);
			snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\n"
			    "Host: localhost\r\nContent-Type: "
			    "application/json\r\nContent-Length: %d\r\n"
			    "Connection: close\r\n\r\n%s", k == 1 ?
			    "/_matrix/identity/api/v1/validate/email/"
			    "requestToken" : "/_matrix/identity/api/v1/3pid/"
			    "bind", len, body);
		}
		s = one_request(port, req);
		lat[n++] = (now() - t) * 1000;
		if (s < 200 || s > 299) {
			nerr++;
			errs[k][s == 0 ? MAX_STATUS : s == -1 ?
			    MAX_STATUS + 1 : s]++;
		}
		usleep(20000);
	}
	t = now() - t0;
	if (n == 0) {
		printf("0 %.1f - - 0 -\n", t);
		return 0;
	}
	qsort(lat, n, sizeof(lat[0]), cmp_double);
	printf("%zu %.1f %.2f %.2f %u ", n, t, lat[(n - 1) / 2],
	    lat[(n * 99 + 99) / 100 - 1], nerr);
	for (k = 0; k < 3; k++)
		for (i = 0; i < MAX_STATUS + 2; i++) {
			if (errs[k][i] == 0)
				continue;
			printf("%s%s:", any ? "," : "", what[k]);
			if (i == MAX_STATUS)
				printf("timeout");
			else if (i == MAX_STATUS + 1)
				printf("connection");
			else
				printf("%zu", i);
			printf("x%u", errs[k][i]);
			any = 1;
		}
	printf("%s\n", any ? "" : "-");
	return 0;
}

/* argv's number s, from 0 to max; exits with a message if it is not. */
static long
num(const char *s, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "bench-attack: %s: not a number from 0 to "
		    "%ld\n", s, max);
		exit(2);
	}
	return v;
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 7 && strcmp(argv[1], "attack") == 0)
		return run_attack((int)num(argv[2], 65535),
		    (double)num(argv[3], 3600), (int)num(argv[4],
		    MAX_ATTACKERS), (int)num(argv[5], MAX_ATTACKERS),
		    (int)num(argv[6], 65535));
	if (argc == 8 && strcmp(argv[1], "client") == 0 &&
	    num(argv[6], 1000000) > 0)
		return run_client((int)num(argv[2], 65535),
		    (double)num(argv[3], 3600), argv[4], argv[5],
		    (int)num(argv[6], 1000000), argv[7]);
	fprintf(stderr, "usage: bench-attack attack PORT SECONDS SLOW "
	    "OUTBOUND HSPORT\n"
	    "       bench-attack client PORT SECONDS LOOKUP_PATH SID_PREFIX "
	    "NSIDS TAG\n");
	return 2;
}
