/*
 * Asking a daemon to stop: see stop.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "stop.h"

volatile sig_atomic_t		 stop_asked;
static int			 wake_pipe[2] = { -1, -1 };

static void
on_stop(int sig)
{
	int	 saved = errno;

	(void)sig;
	stop_asked = 1;
	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) == -1) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

/*
 * Makes the wake-up pipe and takes SIGTERM and SIGINT.  Returns 0, or -1
 * (logged).
 */
int
stop_signals_init(void)
{
	struct sigaction	 sa;

	if (pipe(wake_pipe) == -1 ||
	    fcntl(wake_pipe[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK) == -1) {
		log_err("pipe: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return 0;
}

/* The descriptor that becomes readable when a stop is asked (-1 before
 * stop_signals_init). */
int
stop_wake_fd(void)
{
	return wake_pipe[0];
}

/* Sleeps ms, or less when a stop is asked. */
void
stop_sleep(int ms)
{
	struct pollfd	 pfd = { wake_pipe[0], POLLIN, 0 };

	if (!stop_asked)
		poll(&pfd, 1, ms);
}

/* Drains and closes the pipe. */
void
stop_signals_free(void)
{
	char	 drain[64];

	if (wake_pipe[0] < 0)
		return;
	while (read(wake_pipe[0], drain, sizeof(drain)) > 0)
		;
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
}
