/*
 * deploy/sigil.conf.example parses: every key documented there is one the
 * program knows, with a value it accepts.
 */
#include <string.h>

#include "cfg.h"
#include "tap.h"

int
main(void)
{
	struct cfg	 c;
	char		 err[512] = "";

	memset(&c, 0, sizeof(c));
	ok(cfg_load("deploy/sigil.conf.example", &c, err, sizeof(err)) == 0,
	    "deploy/sigil.conf.example loads %s", err);
	is_str(c.server_name, "id.example.org", "its server_name is read");
	cfg_free(&c);
	return done_testing();
}
