/*
 * The abuse policy of email invites: block-lists, v1's clients, limits.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cfg.h"
#include "clientnet.h"
#include "email.h"
#include "ident.h"
#include "invpolicy.h"
#include "netrange.h"
#include "ratelimit.h"
#include "req.h"
#include "util.h"

/* The block-list's keywords, case-folded once. */
static char	*folded_keywords[MAX_LIST];
static size_t	 n_folded_keywords;
static int	 keywords_folded;

/* Forgets the folded keywords (cfg changed, or at exit). */
void
invpolicy_reset(void)
{
	size_t	 i;

	for (i = 0; i < n_folded_keywords; i++)
		free(folded_keywords[i]);
	n_folded_keywords = 0;
	keywords_folded = 0;
}

/*
 * Whether some keyword of the block-list is in value (of the field name),
 * case-folded.
 */
static int
keyword_in(const struct cfg *cfg, const char *name, const char *value)
{
	char	*folded;
	size_t	 i;
	int	 hit = 0;

	if (!keywords_folded) {
		for (i = 0; i < cfg->n_invite_block_keywords; i++)
			if ((folded = utf8_casefold(
			    cfg->invite_block_keywords[i])) != NULL)
				folded_keywords[n_folded_keywords++] = folded;
		keywords_folded = 1;
	}
	/* A web client's address is not text: its scheme says nothing. */
	if (strcmp(name, "org.matrix.web_client_location") == 0) {
		if (strncmp(value, "https://", 8) == 0)
			value += 8;
		else if (strncmp(value, "http://", 7) == 0)
			value += 7;
	}
	if ((folded = utf8_casefold(value)) == NULL)
		return 0;
	for (i = 0; i < n_folded_keywords && !hit; i++)
		hit = strstr(folded, folded_keywords[i]) != NULL;
	free(folded);
	return hit;
}

/*
 * Whether the operator refuses this invite (args, the request's fields,
 * from sender for room_id): the sender's server, the room, or a keyword
 * in one of its string fields.  Returns 1 or 0.
 */
int
invpolicy_blocked(const struct cfg *cfg, const cJSON *args, const char *sender,
    const char *room_id)
{
	const char	*server = ident_user_id_server(sender);
	const cJSON	*f;
	size_t		 i;

	for (i = 0; i < cfg->n_invite_block_homeservers; i++)
		if (server != NULL &&
		    strcmp(cfg->invite_block_homeservers[i], server) == 0)
			return 1;
	for (i = 0; i < cfg->n_invite_block_rooms; i++)
		if (strcmp(cfg->invite_block_rooms[i], room_id) == 0)
			return 1;
	if (cfg->n_invite_block_keywords == 0)
		return 0;
	for (f = args->child; f != NULL; f = f->next)
		if (cJSON_IsString(f) && keyword_in(cfg, f->string,
		    f->valuestring))
			return 1;
	return 0;
}

/*
 * Whether the client may call v1 store-invite: any when
 * invite_v1_clients is empty, else only an address in one of its
 * ranges (the homeservers that use this server without a token).
 * remote_addr is the client's address (NULL: unknown).  Returns 1 or 0.
 */
int
invpolicy_v1_client(const struct cfg *cfg, const char *remote_addr)
{
	return cfg->n_invite_v1_clients == 0 ||
	    netrange_list_has(cfg->invite_v1_clients,
	    cfg->n_invite_v1_clients, remote_addr);
}

/*
 * Counts the invite against every limit keyed by what the caller cannot
 * choose (client address, v2 user, room, recipient address) and the
 * sender's.  Cheapest to the caller first: a client over its own limit
 * spends nobody else's.  r is the request (its API, client address and
 * v2 user); the client counts by its network (clientnet.h).  Returns 0, or -1 with the error (429) set in rs.
 */
int
invpolicy_limits(struct db *db, const struct cfg *cfg, const struct req *r,
    const char *sender, const char *room_id, const char *address,
    struct resp *rs)
{
	char		 client[CLIENTNET_KEY_MAX];	/* filled first */
	const struct {
		int			 applies;
		const char		*prefix, *key;
		const struct cfg_rate	*rate;
	} limits[] = {
		{ 1, "invite-client", client,
		    &cfg->ratelimit[RATELIMIT_INVITE_CLIENT] },
		{ r->api == API_V2, "invite-user", r->user_id,	/* v2 only */
		    &cfg->ratelimit[RATELIMIT_INVITE_USER] },
		{ 1, "invite", sender, &cfg->ratelimit[RATELIMIT_INVITE_SENDER] },
		{ 1, "invite-room", room_id, &cfg->ratelimit[RATELIMIT_INVITE_ROOM] },
		{ 1, "invite-address", address,
		    &cfg->ratelimit[RATELIMIT_INVITE_ADDRESS] },
	};
	struct buf	 bucket = { 0 };
	size_t		 i;
	int		 rc = 0;

	(void)clientnet_key(r->remote_addr, (int)cfg->client_ipv6_prefix,
	    client, sizeof(client));
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]) && rc == 0; i++) {
		if (!limits[i].applies)
			continue;
		buf_reset(&bucket);
		buf_printf(&bucket, "%s:%s", limits[i].prefix,
		    limits[i].key == NULL ? "" : limits[i].key);
		rc = ratelimit_check(db, buf_str(&bucket), limits[i].rate,
		    rs);
	}
	buf_free(&bucket);
	return rc;
}
