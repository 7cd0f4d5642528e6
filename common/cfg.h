/*
 * The configuration: one file of "key = value" lines, read once at start
 * and immutable afterwards.  Every key is a row of the table in cfg.c and
 * is documented in deploy/sigil.conf.example.
 */
#ifndef SIGIL_CFG_H
#define SIGIL_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "netrange.h"

/*
 * The configuration's limits: key ratelimit_<name>, and the label their
 * refusals are counted under (metrics).
 */
enum ratelimit_id {
	RATELIMIT_ADDRESS,		/* mails per address */
	RATELIMIT_REQUESTER,		/* per client IP (v1) or user */
	RATELIMIT_MSISDN,		/* texts per number */
	RATELIMIT_COUNTRY,		/* texts per region */
	RATELIMIT_LOOKUP_IP,		/* v1 addresses per client IP */
	RATELIMIT_LOOKUP_USER,		/* v2 addresses per user */
	RATELIMIT_INVITE_SENDER,	/* invites per sender */
	RATELIMIT_INVITE_ADDRESS,	/* per recipient address */
	RATELIMIT_INVITE_CLIENT,	/* per client IP address */
	RATELIMIT_INVITE_ROOM,		/* per room */
	RATELIMIT_INVITE_USER,		/* per v2 token's user */
	RATELIMIT__MAX
};

extern const char *const ratelimit_name[RATELIMIT__MAX];

/*
 * A rate limit: at most count events per seconds; count 0 is off.  limit
 * says which of the configuration's it is (RATELIMIT__MAX: none of them),
 * the name its refusals are counted under.
 */
struct cfg_rate {
	int64_t			 count;
	int64_t			 seconds;
	enum ratelimit_id	 limit;
};

/* A public key listed in the configuration: older or revoked. */
struct cfg_pubkey {
	char	 id[MAX_KEY_ID + 1];
	char	 public_b64[MAX_PUBLIC_KEY_B64];
};

struct cfg {
	char	*server_name;		/* name signatures are made under */
	char	*public_base_url;	/* how the world reaches us, no '/' end */
	char	*database;		/* libpq connection string */
	char	*database_replica;	/* lookups read here; NULL: primary */
	char	*signing_key;		/* path to the private key file */
	char	*signing_key_id;	/* NULL: from the key file */
	int	 enable_v1;		/* serve /_matrix/identity/api/v1 */
	struct cfg_pubkey old_keys[MAX_KEYS];	/* still valid */
	size_t	 n_old_keys;
	struct cfg_pubkey revoked_keys[MAX_KEYS]; /* reported invalid */
	size_t	 n_revoked_keys;
	char	*terms_file;		/* NULL: no terms */
	int64_t	 token_lifetime;	/* seconds; 0: tokens never expire */
	int	 allow_access_token_query; /* ?access_token= too (default) */
	char	*homeserver_allow[MAX_LIST];	/* empty: any homeserver */
	size_t	 n_homeserver_allow;
	char	*http_ca_file;		/* NULL: the system's CAs */
	struct netrange http_allow[MAX_LIST];	/* exempt from the blocklist */
	size_t	 n_http_allow;
	char	*smtp_url;		/* smtp://host:port or smtps:// */
	char	*smtp_tls;		/* starttls, opportunistic or off */
	char	*smtp_user;		/* NULL: no login */
	char	*smtp_password;
	char	*smtp_ca_file;		/* NULL: the system's CAs */
	char	*mail_from;		/* From: of our mails */
	char	*template_dir;		/* brand folders of templates */
	char	*metrics_dir;		/* shared counters; NULL: none */
	int64_t	 slow_request;		/* seconds; -1: no slow-request log */
	int64_t	 request_timeout;	/* seconds for a request's input */
	char	*default_brand;
	char	*next_link_hosts[MAX_LIST];	/* empty: any host */
	size_t	 n_next_link_hosts;
	int64_t	 client_ipv6_prefix;	/* an IPv6 client: its /N (clientnet.h) */
	int64_t	 max_token_attempts;	/* wrong tokens before a session dies */
	char	*sms_gateway;		/* none, webhook or twilio */
	char	*sms_url;		/* the webhook, or Twilio's API base */
	char	*sms_token;		/* Bearer token, or Twilio auth token */
	char	*sms_account;		/* Twilio account SID */
	char	*sms_from;		/* sender number or name */
	int64_t	 sms_code_length;	/* digits in a code, 6 or more */
	char	*sms_allow_regions[MAX_LIST];	/* empty: every region */
	size_t	 n_sms_allow_regions;
	char	*sms_deny_regions[MAX_LIST];
	size_t	 n_sms_deny_regions;
	int64_t	 lookup_max_addresses;	/* per lookup request */
	int	 lookup_allow_none;	/* v2 lookups in plain text */
	int64_t	 invite_lifetime;	/* seconds an invite stays pending */
	char	*invite_block_homeservers[MAX_LIST]; /* senders' servers */
	size_t	 n_invite_block_homeservers;
	char	*invite_block_rooms[MAX_LIST];	/* room IDs */
	size_t	 n_invite_block_rooms;
	char	*invite_block_keywords[MAX_LIST]; /* as written */
	size_t	 n_invite_block_keywords;
	struct netrange invite_v1_clients[MAX_LIST]; /* empty: any client */
	size_t	 n_invite_v1_clients;
	struct netrange internal_api_clients[MAX_LIST]; /* who may call internal/ */
	size_t	 n_internal_api_clients;
	int64_t	 invite_redact_local;	/* characters kept of the local part */
	int64_t	 invite_redact_domain;	/* and of the domain */
	char	*invite_web_client;	/* web_client_location by default */
	char	*invite_web_client_hosts[MAX_LIST]; /* empty: invite_web_client's */
	size_t	 n_invite_web_client_hosts;
	char	*invite_subject;	/* template of the invite's subject */
	char	*invite_subject_space;	/* the same for room_type m.space */
	int	 invite_delete_on_delivery; /* else kept, marked delivered */
	int64_t	 onbind_retry_max;	/* seconds; cap of the backoff */
	int64_t	 http_budget;		/* seconds for a request's outbound */
	int64_t	 http_key_failure_ttl;	/* seconds a failed key fetch holds */
	int64_t	 onbind_concurrency;	/* deliveries in flight at once */
	int64_t	 outbound_concurrency;	/* a program's calls out at once;
					   0: half its pool, at least 1 */
	int64_t	 health_notify_age;	/* seconds sigil-notify's figures
					   stay fresh for /_sigil/health;
					   0: not checked */
	int64_t	 sync_interval;		/* sigil-sync's daemon: seconds
					   between runs */
	int64_t	 sync_max_remove_percent; /* of its bindings, per run */
	char	*sync_domains[MAX_LIST]; /* email domains the sources are
					   authoritative for */
	size_t	 n_sync_domains;
	char	*sync_user_binds;	/* allow or refuse, in sync_domains */
	char	*sync_sql_conninfo;	/* the SQL source; NULL: none */
	char	*sync_sql_query;	/* its (medium, address, user_id) */
	char	*ldap_uri;		/* ldap://, ldaps:// or ldapi:// URIs;
					   NULL: no directory */
	int	 ldap_starttls;		/* StartTLS on an ldap:// URI */
	char	*ldap_ca_file;		/* NULL: the system's CAs */
	char	*ldap_bind_dn;		/* NULL: an anonymous bind */
	char	*ldap_bind_password_file; /* the bind DN's password */
	char	*ldap_base;		/* where the search starts */
	char	*ldap_filter;		/* whom it finds, used as written */
	char	*ldap_mail[MAX_LIST];	/* address attributes; empty: mail */
	size_t	 n_ldap_mail;
	char	*ldap_localpart;	/* attribute of the user ID's localpart */
	int64_t	 ldap_page_size;	/* entries per page; 0: no paging */
	int64_t	 ldap_timeout;		/* seconds for a connection or reply */
	struct cfg_rate ratelimit[RATELIMIT__MAX]; /* key ratelimit_<name> */
};

/* One key of the table, as the tests read it (cfg_key_info). */
struct cfg_key_info {
	char		 name[64];
	const char	*def;		/* the default, or NULL */
	int		 repeatable;	/* lines add to the list */
	int		 bounded;	/* an integer from min to max */
	int64_t		 min, max;
};

int	 cfg_load(const char *, struct cfg *, char *, size_t);
int	 cfg_parse(const char *, const char *, size_t, struct cfg *, char *,
	    size_t);
void	 cfg_free(struct cfg *);
const char *cfg_path(int, char *const *);
int	 cfg_key_info(size_t, struct cfg_key_info *);

#endif /* !SIGIL_CFG_H */
