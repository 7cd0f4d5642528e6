/*
 * The benchmark's SMTP sink: accepts every message on 127.0.0.1:PORT and
 * keeps only a count, so that the mail-sending rows of make bench measure
 * sigil rather than the Python sink the tests use.  One process, poll(),
 * any number of connections.  On SIGUSR1 it writes the count of messages
 * it accepted to COUNT_FILE; on SIGTERM too, and exits.  Not installed,
 * not a sigil program.
 *
 *	bench-smtp-sink PORT COUNT_FILE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONN	1024
#define LINE_MAX_LEN	2048

struct conn {
	int	 fd;
	int	 in_data;		/* between DATA and the lone dot */
	size_t	 len;			/* bytes in line */
	char	 line[LINE_MAX_LEN];
};

static volatile sig_atomic_t	 stopping, report;
static struct conn		 conns[MAX_CONN];
static struct pollfd		 pfds[MAX_CONN + 1];
static unsigned long		 messages;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_report(int sig)
{
	(void)sig;
	report = 1;
}

static void
write_count(const char *path)
{
	FILE	*f;

	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "%lu\n", messages);
		fclose(f);
	}
}

static void
reply(struct conn *c, const char *text)
{
	size_t	 n = strlen(text);

	if (write(c->fd, text, n) != (ssize_t)n) {
		close(c->fd);
		c->fd = -1;
	}
}

/* One line of the dialogue, without its CRLF. */
static void
handle_line(struct conn *c, const char *l)
{
	if (c->in_data) {
		if (strcmp(l, ".") == 0) {
			c->in_data = 0;
			messages++;
			reply(c, "250 OK\r\n");
		}
		return;
	}
	if (strncasecmp(l, "EHLO", 4) == 0)
		reply(c, "250-sink\r\n250 8BITMIME\r\n");
	else if (strncasecmp(l, "HELO", 4) == 0)
		reply(c, "250 sink\r\n");
	else if (strncasecmp(l, "DATA", 4) == 0) {
		c->in_data = 1;
		reply(c, "354 go on\r\n");
	} else if (strncasecmp(l, "QUIT", 4) == 0) {
		reply(c, "221 bye\r\n");
		if (c->fd != -1) {
			close(c->fd);
			c->fd = -1;
		}
	} else
		reply(c, "250 OK\r\n");
}

static void
handle_input(struct conn *c)
{
	char	 buf[16384];
	ssize_t	 n, i;

	if ((n = read(c->fd, buf, sizeof(buf))) <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	for (i = 0; i < n && c->fd != -1; i++) {
		if (buf[i] == '\n') {
			if (c->len > 0 && c->line[c->len - 1] == '\r')
				c->len--;
			c->line[c->len] = '\0';
			handle_line(c, c->line);
			c->len = 0;
		} else if (c->len < LINE_MAX_LEN - 1)
			c->line[c->len++] = buf[i];
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sa;
	struct sigaction	 act;
	int			 lfd, fd, one = 1, i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-smtp-sink PORT COUNT_FILE\n");
		return 2;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_stop;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	act.sa_handler = on_report;
	sigaction(SIGUSR1, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(lfd, 1024) == -1) {
		perror("bench-smtp-sink");
		return 1;
	}
	for (i = 0; i < MAX_CONN; i++)
		conns[i].fd = -1;
	while (!stopping) {
		if (report) {
			report = 0;
			write_count(argv[2]);
		}
		pfds[0].fd = lfd;
		pfds[0].events = POLLIN;
		for (i = 0; i < MAX_CONN; i++) {
			pfds[i + 1].fd = conns[i].fd;
			pfds[i + 1].events = POLLIN;
		}
		if ((n = poll(pfds, MAX_CONN + 1, 1000)) <= 0)
			continue;
		for (i = 0; i < MAX_CONN; i++)
			if (conns[i].fd != -1 &&
			    (pfds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				handle_input(&conns[i]);
		if ((pfds[0].revents & POLLIN) &&
		    (fd = accept(lfd, NULL, NULL)) != -1) {
			for (i = 0; i < MAX_CONN && conns[i].fd != -1; i++)
				;
			if (i == MAX_CONN) {
				close(fd);
				continue;
			}
			memset(&conns[i], 0, sizeof(conns[i]));
			conns[i].fd = fd;
			reply(&conns[i], "220 sink ESMTP\r\n");
		}
	}
	write_count(argv[2]);
	return 0;
}
