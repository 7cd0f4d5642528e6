/*
 * Unit tests for common/log: the line's form (an RFC 3339 time, or none
 * under journald), control characters replaced, and a log file opened
 * again by name on SIGUSR1, both by log_open and as a worker of
 * sigil-supervise -l sees it (SIGIL_LOG_FILE).
 */
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char	 dir[] = "/tmp/sigil-log-test.XXXXXX";

/* The contents of dir/name (static; "" when it cannot be read). */
static const char *
slurp(const char *name)
{
	static char	 buf[8192];
	char		 path[256];
	size_t		 n = 0;
	FILE		*f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
matches(const char *s, const char *pattern)
{
	regex_t	 re;
	int	 rc;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))
		return 0;
	rc = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return rc;
}

static char *
path_of(const char *name)
{
	static char	 path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* Sets JOURNAL_STREAM to the device and inode of the file at path. */
static void
journal_stream_is(const char *path)
{
	struct stat	 st;
	char		 v[64];

	if (stat(path, &st) == -1)
		return;
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

int
main(void)
{
	char	 a[256], a1[256], b[256], b1[256], pat[256];
	int	 fd;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(a, sizeof(a), "%s", path_of("a.log"));
	snprintf(a1, sizeof(a1), "%s", path_of("a.log.1"));
	snprintf(b, sizeof(b), "%s", path_of("b.log"));
	snprintf(b1, sizeof(b1), "%s", path_of("b.log.1"));
	unsetenv("JOURNAL_STREAM");
	unsetenv(LOG_FILE_ENV);
	log_init("sigil-test");

	ok(log_open("relative.log") == -1, "a relative log file is refused");
	ok(log_open("/nonexistent-dir/x.log") == -1,
	    "a log file that cannot be opened is refused");
	ok(log_open(a) == 0, "log_open(%s)", a);
	log_warn("one\nforged line");
	snprintf(pat, sizeof(pat), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z sigil-test\\[%ld\\] warn: "
	    "one\\?forged line\n$", (long)getpid());
	if (!ok(matches(slurp("a.log"), pat),
	    "a line: RFC 3339 time, name[pid], level, text with control "
	    "characters replaced"))
		diag("%s", slurp("a.log"));

	/* Rotation: rename, SIGUSR1, and the next line starts a new file. */
	ok(rename(a, a1) == 0, "the log file renamed");
	raise(SIGUSR1);
	log_info("two");
	if (!ok(matches(slurp("a.log"), "^[^\n]*sigil-test\\[[0-9]+\\] info: two\n$"),
	    "after SIGUSR1 the next line is the first of a new file"))
		diag("%s", slurp("a.log"));
	ok(!matches(slurp("a.log.1"), "two"), "and not in the renamed one");
	log_info("three");
	ok(matches(slurp("a.log"), "two\n.*three\n$"),
	    "later lines follow it there");

	/* journald stamps lines itself: no time when stderr is its stream. */
	journal_stream_is(a);
	log_init("sigil-test");
	log_err("four");
	if (!ok(matches(slurp("a.log"), "\nsigil-test\\[[0-9]+\\] error: four\n$"),
	    "under journald (JOURNAL_STREAM names stderr): no time"))
		diag("%s", slurp("a.log"));
	journal_stream_is(a1);
	log_init("sigil-test");
	log_err("five");
	ok(matches(slurp("a.log"), "\n[0-9]{4}-[^\n]*Z sigil-test\\[[0-9]+\\] "
	    "error: five\n$"),
	    "JOURNAL_STREAM naming another file (stderr redirected since): "
	    "the time again");
	unsetenv("JOURNAL_STREAM");

	/* A worker of sigil-supervise -l: stderr inherited, the name in
	 * SIGIL_LOG_FILE. */
	if ((fd = open(b, O_WRONLY | O_CREAT | O_APPEND, 0600)) == -1 ||
	    dup2(fd, 2) == -1)
		return 1;
	close(fd);
	setenv(LOG_FILE_ENV, b, 1);
	log_init("sigil-worker");
	log_info("six");
	ok(rename(b, b1) == 0, "the inherited log file renamed");
	raise(SIGUSR1);
	log_info("seven");
	ok(matches(slurp("b.log"), "^[^\n]*sigil-worker\\[[0-9]+\\] info: "
	    "seven\n$"), "a worker opens SIGIL_LOG_FILE again on SIGUSR1");
	ok(matches(slurp("b.log.1"), "six\n$"), "its earlier line stayed");

	unlink(a);
	unlink(a1);
	unlink(b);
	unlink(b1);
	rmdir(dir);
	return done_testing();
}
