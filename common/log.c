/*
 * The log writer: one write per line so lines from several workers that
 * share a file do not interleave.  Control characters are replaced, so a
 * value from a request cannot forge a second log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_name = "sigil";
static int		 log_no_info;	/* log_info says nothing */
static int		 log_journal;	/* stderr is journald's: no time */
static const char	*log_path;	/* the file fd 2 is, reopened on USR1 */
static volatile sig_atomic_t log_reopen_due;

/*
 * 1 when stderr is the stream systemd connected to journald, which
 * stamps each line itself: JOURNAL_STREAM holds its "device:inode", and
 * a stderr redirected elsewhere since (a shell's 2>file) no longer
 * matches.
 */
static int
under_journald(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;
	char			*end;

	if (js == NULL || fstat(STDERR_FILENO, &st) == -1)
		return 0;
	errno = 0;
	dev = strtoull(js, &end, 10);
	if (errno != 0 || end == js || *end != ':')
		return 0;
	js = end + 1;
	ino = strtoull(js, &end, 10);
	if (errno != 0 || end == js || *end != '\0')
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

static void
on_usr1(int sig)
{
	(void)sig;
	log_reopen_due = 1;
}

/*
 * Opens path for appending as stderr.  Returns 0, or -1 with errno set
 * (stderr unchanged).
 */
static int
open_as_stderr(const char *path)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
	if (fd == -1)
		return -1;
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) == -1) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

/*
 * Remembers path as the file stderr writes to, and opens it again by
 * that name on SIGUSR1 (NULL: none, SIGUSR1 does nothing).  path is
 * borrowed for life.
 */
static void
reopen_on_usr1(const char *path)
{
	struct sigaction	 sa;

	log_path = path;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
}

/*
 * Sets the program name shown on every line (name is borrowed for life)
 * and sees where lines go: under journald they carry no time; in a
 * worker of sigil-supervise -l, SIGIL_LOG_FILE names the file its
 * inherited stderr is, to open again on SIGUSR1 (which, without it,
 * does nothing).
 */
void
log_init(const char *name)
{
	const char	*path;

	log_name = name;
	log_journal = under_journald();
	/* Always taken, so that a rotation's SIGUSR1 never ends a program
	 * that writes to no file of its own. */
	path = getenv(LOG_FILE_ENV);
	reopen_on_usr1(path != NULL && *path == '/' ? path : NULL);
}

/*
 * Sends stderr to the file path (absolute, borrowed for life), opened
 * for appending, and opens it again on SIGUSR1; the children started
 * from now on inherit it.  Returns 0, or -1 after saying why on the old
 * stderr.
 */
int
log_open(const char *path)
{
	if (*path != '/') {
		fprintf(stderr, "%s: the log file %s is not an absolute "
		    "path\n", log_name, path);
		return -1;
	}
	if (open_as_stderr(path) == -1) {
		fprintf(stderr, "%s: cannot open the log file %s: %s\n",
		    log_name, path, strerror(errno));
		return -1;
	}
	log_journal = 0;
	reopen_on_usr1(path);
	return 0;
}

/*
 * The next line opens the log file again first, as after SIGUSR1 (for a
 * program that takes its signals with sigwait rather than a handler).
 */
void
log_reopen(void)
{
	log_reopen_due = 1;
}

/*
 * quiet 1: log_info says nothing from now on (a CGI process, whose every
 * request would otherwise log its start); warnings and errors still do.
 */
void
log_quiet_info(int quiet)
{
	log_no_info = quiet;
}

/*
 * Opens the log file again when SIGUSR1 (or log_reopen) asked for it;
 * every writer of lines calls it before it writes one.
 */
void
log_reopen_if_due(void)
{
	if (!log_reopen_due)
		return;
	log_reopen_due = 0;
	if (log_path != NULL && open_as_stderr(log_path) == -1)
		fprintf(stderr, "%s[%ld] warn: cannot open the log file %s "
		    "again: %s\n", log_name, (long)getpid(), log_path,
		    strerror(errno));
}

/*
 * Writes the time a line starts with, "2026-12-07T21:58:01.123Z " (RFC
 * 3339, UTC), into buf (size at least 32), or "" under journald.
 * Returns its length.
 */
size_t
log_stamp(char *buf, size_t size)
{
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n;

	buf[0] = '\0';
	if (log_journal || size < 32)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03ldZ ",
	    ts.tv_nsec / 1000000);
	return n;
}

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	char	 stamp[40], msg[1024];
	size_t	 i;

	log_reopen_if_due();
	log_stamp(stamp, sizeof(stamp));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	fprintf(stderr, "%s%s[%ld] %s: %s\n", stamp, log_name, (long)getpid(),
	    level, msg);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_no_info)
		return;
	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_line("warn", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_line("error", fmt, ap);
	va_end(ap);
}
