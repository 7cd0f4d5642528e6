/*
 * The abuse policy of email invites, so that sigil-invite is no mail
 * relay: the operator's block-lists (the sender's homeserver, rooms,
 * keywords in any field), the clients v1 store-invite is open to, and
 * the rate limits an invite counts against, keyed by what the caller
 * cannot choose (client address, v2 user, room, recipient address)
 * besides the sender.
 */
#ifndef SIGIL_INVPOLICY_H
#define SIGIL_INVPOLICY_H

struct cJSON;
struct cfg;
struct db;
struct req;
struct resp;

int	 invpolicy_blocked(const struct cfg *cfg, const struct cJSON *args,
	    const char *sender, const char *room_id);
int	 invpolicy_v1_client(const struct cfg *cfg, const char *remote_addr);
int	 invpolicy_limits(struct db *db, const struct cfg *cfg,
	    const struct req *r, const char *sender, const char *room_id,
	    const char *address, struct resp *rs);
void	 invpolicy_reset(void);

#endif /* !SIGIL_INVPOLICY_H */
