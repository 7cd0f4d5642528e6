/*
 * The precedence of sigil-sync's sources over users' own bindings: see
 * syncsrc.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "email.h"
#include "syncsrc.h"

/*
 * Returns 1 when the canonical address (of medium) is in one of the
 * domains sync_domains names, where the sources' bindings win over a
 * user's; else 0 (msisdn addresses never are).  The configured domains
 * go through the address rule too, so an IDN written in A-labels matches
 * its canonical form.
 */
int
syncsrc_authoritative(const struct cfg *cfg, const char *medium,
    const char *address)
{
	char		 probe[MAX_EMAIL_DOMAIN + 3], canon[MAX_EMAIL + 1];
	const char	*at, *dom;
	size_t		 i;

	if (strcmp(medium, "email") != 0 || cfg->n_sync_domains == 0 ||
	    (at = strrchr(address, '@')) == NULL)
		return 0;
	for (i = 0; i < cfg->n_sync_domains; i++) {
		if ((size_t)snprintf(probe, sizeof(probe), "x@%s",
		    cfg->sync_domains[i]) >= sizeof(probe))
			continue;
		dom = email_canonical(probe, canon, sizeof(canon)) == 0 ?
		    canon + 2 : cfg->sync_domains[i];
		if (strcasecmp(at + 1, dom) == 0)
			return 1;
	}
	return 0;
}

/*
 * Returns 1 when a user's own bind or unbind of the canonical address
 * must be refused: it is in sync_domains and sync_user_binds is refuse.
 */
int
syncsrc_user_refused(const struct cfg *cfg, const char *medium,
    const char *address)
{
	return strcmp(cfg->sync_user_binds, "refuse") == 0 &&
	    syncsrc_authoritative(cfg, medium, address);
}
