/*
 * A test helper, not a test: loads a configuration and prints what
 * ldapsrc_read() yields from its directory, one line per address,
 *
 *	<medium> <address> <mxid>
 *
 * then "ok <n>" (the read completed, n lines) or "error <reason>", and
 * exits 0 or 1 (2: bad usage or configuration).  With --stop-after N
 * the emitter refuses the N+1th address, as a caller that stops a read.
 * Logs (skipped entries) go to stderr.
 *
 *   ldap-dump -c CONFIG [--stop-after N]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "ldapsrc.h"
#include "log.h"
#include "util.h"

struct dump {
	int64_t	 n;		/* lines printed */
	int64_t	 stop_after;	/* -1: never stop */
};

static int
print_one(void *arg, const char *medium, const char *address,
    const char *mxid)
{
	struct dump	*d = arg;

	if (d->stop_after >= 0 && d->n >= d->stop_after)
		return -1;
	printf("%s %s %s\n", medium, address, mxid);
	d->n++;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cfg	 c;
	struct dump	 d = { 0, -1 };
	const char	*path, *stop;
	char		 err[1024];
	int		 rc;

	log_init("ldap-dump");
	signal(SIGPIPE, SIG_IGN);
	memset(&c, 0, sizeof(c));
	if ((path = argv_value(argc, argv, "-c")) == NULL ||
	    ((stop = argv_value(argc, argv, "--stop-after")) != NULL &&
	    parse_int64(stop, 0, INT64_MAX, &d.stop_after) == -1)) {
		fputs("usage: ldap-dump -c CONFIG [--stop-after N]\n", stderr);
		return 2;
	}
	if (cfg_load(path, &c, err, sizeof(err)) == -1) {
		fprintf(stderr, "ldap-dump: %s\n", err);
		cfg_free(&c);
		return 2;
	}
	rc = ldapsrc_read(&c, print_one, &d, err, sizeof(err));
	if (rc == 0)
		printf("ok %lld\n", (long long)d.n);
	else
		printf("error %s\n", err);
	cfg_free(&c);
	return rc == 0 ? 0 : 1;
}
