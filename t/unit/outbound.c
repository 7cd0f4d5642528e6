/*
 * Unit tests for common/outbound: a program's slots shared between
 * processes (another process holds one; a killed holder's comes back),
 * the host's memos (kept, expired, replaced), and files that are not
 * ours to trust (another's mode, cut short) never crash or mislead.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbound.h"
#include "tap.h"
#include "util.h"

static char	 dir[] = "/tmp/sigil-outbound-unit.XXXXXX";

/*
 * Starts a process that takes a slot of program "sigil-x" (limit 1) and
 * holds it until killed.  Returns its pid once it holds (or failed: then
 * it has exited).
 */
static pid_t
holder(void)
{
	int	 p[2];
	char	 c = 0;
	pid_t	 pid;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		close(p[0]);
		outbound_close();
		outbound_open(dir, "sigil-x", 1);
		c = (char)('0' + outbound_enter());
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != '1') {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static void
test_slots(void)
{
	pid_t	 pid;

	outbound_open(dir, "sigil-x", 1);
	is_int(outbound_limit(), 1, "the limit is outbound_concurrency");
	pid = holder();
	ok(pid > 0, "another process holds the one slot");
	is_int(outbound_enter(), 0, "so this one is refused");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	is_int(outbound_enter(), 1, "the killed holder's slot came back");
	outbound_leave();
	outbound_close();

	outbound_open(dir, "sigil-x", 2);
	pid = holder();		/* limit 1: takes slot 0 */
	is_int(outbound_enter(), 1, "a limit of 2: a second slot");
	is_int(outbound_enter(), 1, "entering again while holding: no "
	    "second slot taken");
	outbound_leave();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	outbound_close();

	outbound_open(dir, "sigil-y", 1);
	pid = holder();		/* sigil-x's slot */
	is_int(outbound_enter(), 1, "another program has slots of its own");
	outbound_leave();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	outbound_close();

	outbound_open(dir, "sigil-z", 0);
	is_int(outbound_limit(), 1, "no pool known: half of none is one");
	outbound_close();

	outbound_open(NULL, "sigil-x", 1);
	is_int(outbound_enter(), 1, "without a folder nothing is limited");
	outbound_close();
}

static void
test_memos(void)
{
	struct outbound_memo	 m = { 0, 0, "" }, got;
	char			 path[256], name[64];
	int			 fd, i, kept;

	outbound_open(dir, "sigil-x", 1);
	m.expires_ms = now_ms() + 60000;
	snprintf(m.value, sizeof(m.value), "matrix.example.org:443");
	outbound_remember(OUTBOUND_WELL_KNOWN, "example.org", &m);
	ok(outbound_recall(OUTBOUND_WELL_KNOWN, "example.org", &got) &&
	    strcmp(got.value, "matrix.example.org:443") == 0 && !got.failed,
	    "a .well-known answer is remembered");
	ok(!outbound_recall(OUTBOUND_KEY_FETCH, "example.org", &got),
	    "under its kind only");
	ok(!outbound_recall(OUTBOUND_WELL_KNOWN, "example.net", &got),
	    "and its name only");
	outbound_close();

	/* Another process (another worker) sees it. */
	outbound_open(dir, "sigil-y", 1);
	ok(outbound_recall(OUTBOUND_WELL_KNOWN, "example.org", &got),
	    "by every program of the host");
	m.expires_ms = now_ms() - 1;
	m.failed = 1;
	m.value[0] = '\0';
	outbound_remember(OUTBOUND_WELL_KNOWN, "example.org", &m);
	ok(!outbound_recall(OUTBOUND_WELL_KNOWN, "example.org", &got),
	    "replaced, and expired: forgotten");

	/* More names than the table holds: the newest are kept. */
	m.expires_ms = now_ms() + 60000;
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "hs%d.example", i);
		outbound_remember(OUTBOUND_KEY_FETCH, name, &m);
	}
	for (i = 1990, kept = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "hs%d.example", i);
		kept += outbound_recall(OUTBOUND_KEY_FETCH, name, &got);
	}
	is_int(kept, 10, "2000 names: the last ten are all remembered");

	/* Cut short by someone: entries missing, no fault. */
	snprintf(path, sizeof(path), "%s/outbound.origins", dir);
	if (truncate(path, 100) == -1)
		abort();
	ok(!outbound_recall(OUTBOUND_KEY_FETCH, "hs1999.example", &got),
	    "a file cut short forgets (and does not crash)");
	outbound_remember(OUTBOUND_KEY_FETCH, "hs1999.example", &m);
	ok(outbound_recall(OUTBOUND_KEY_FETCH, "hs1999.example", &got),
	    "and remembers again");
	outbound_close();

	/* A file others may write is not trusted. */
	if (chmod(path, 0666) == -1)
		abort();
	outbound_open(dir, "sigil-x", 1);
	ok(!outbound_recall(OUTBOUND_KEY_FETCH, "hs1999.example", &got),
	    "a file others may write is not used");
	outbound_close();
	unlink(path);
	snprintf(path, sizeof(path), "%s/elsewhere", dir);
	if ((fd = open(path, O_RDWR | O_CREAT, 0600)) == -1)
		abort();
	close(fd);
	snprintf(name, sizeof(name), "%s/outbound.origins", dir);
	if (symlink(path, name) == -1)
		abort();
	outbound_open(dir, "sigil-x", 1);
	outbound_remember(OUTBOUND_KEY_FETCH, "hs.example", &m);
	ok(!outbound_recall(OUTBOUND_KEY_FETCH, "hs.example", &got),
	    "nor is a symbolic link followed");
	outbound_close();
	unlink(name);
	unlink(path);
}

int
main(void)
{
	char	 cmd[128];

	if (mkdtemp(dir) == NULL)
		abort();
	test_slots();
	test_memos();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
