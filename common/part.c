/*
 * Which optional parts (common/part.h) are linked into this process, as
 * their modules said before main().
 */
#include "part.h"

const char *const part_name[PARTS] = {
	[PART_DB] = "database (common/db.c)",
	[PART_HTTP] = "outbound HTTP (common/http.c)",
	[PART_MAIL] = "mail (common/mail.c)",
	[PART_KEY] = "signing key (common/sign.c)",
};

static unsigned	 linked;

/* Called by part p's module at load: p is linked. */
void
part_linked(enum part p)
{
	linked |= 1U << p;
}

/* Returns the parts linked, as 1U << part bits. */
unsigned
parts_linked(void)
{
	return linked;
}
