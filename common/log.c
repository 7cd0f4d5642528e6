/*
 * The log writer: one fprintf per line so lines from several workers that
 * share a file do not interleave.  Control characters are replaced, so a
 * value from a request cannot forge a second log line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

static const char	*log_name = "sigil";
static int		 log_no_info;	/* log_info says nothing */

/* Sets the program name shown on every line; name is borrowed for life. */
void
log_init(const char *name)
{
	log_name = name;
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

static void
log_line(const char *level, const char *fmt, va_list ap)
{
	char	 msg[1024];
	size_t	 i;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	fprintf(stderr, "%s[%ld] %s: %s\n", log_name, (long)getpid(), level,
	    msg);
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
