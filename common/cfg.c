/*
 * Reading the configuration file.  Each key is one row of cfg_keys[]: its
 * name, how its value is checked, and where it is stored.  An unknown key,
 * a repeated one, a bad value or a missing required key stops the start
 * with "file:line: reason".
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "cfg.h"
#include "ident.h"
#include "json.h"
#include "sign.h"
#include "util.h"

enum cfg_type {
	CFG_STRING,		/* any non-empty text */
	CFG_SERVER_NAME,	/* a Matrix server name */
	CFG_URL,		/* http:// or https:// URL */
	CFG_BOOL,		/* true or false */
	CFG_PUBKEY,		/* "ed25519:<id> <base64 public key>", repeatable */
	CFG_SECONDS,		/* an integer number of seconds, >= 0 */
	CFG_SERVER_LIST,	/* server names separated by spaces, repeatable */
	CFG_RANGE_LIST,		/* address ranges separated by spaces, repeatable */
	CFG_HOST_LIST,		/* host names separated by spaces, repeatable */
	CFG_COUNT,		/* a whole number from 1 to 1000 */
	CFG_RATE,		/* "<count> <seconds>", or 0 for off */
	CFG_TLS_MODE,		/* starttls, opportunistic or off */
	CFG_SMS_GATEWAY,	/* none, webhook or twilio */
	CFG_REGION_LIST,	/* ISO 3166 alpha-2 codes, repeatable */
	CFG_CODE_LENGTH,	/* 6 to 12 */
	CFG_LOOKUP_CAP,		/* 1 to 100000 */
	CFG_WORD_LIST,		/* words separated by spaces, repeatable */
	CFG_BUDGET,		/* 1 to 12 seconds: below the web server's 15 */
};

enum cfg_key {
	CFG_KEY_SERVER_NAME,
	CFG_KEY_PUBLIC_BASE_URL,
	CFG_KEY_DATABASE,
	CFG_KEY_DATABASE_REPLICA,
	CFG_KEY_SIGNING_KEY,
	CFG_KEY_SIGNING_KEY_ID,
	CFG_KEY_ENABLE_V1,
	CFG_KEY_OLD_KEY,
	CFG_KEY_REVOKED_KEY,
	CFG_KEY_TERMS_FILE,
	CFG_KEY_TOKEN_LIFETIME,
	CFG_KEY_ALLOW_ACCESS_TOKEN_QUERY,
	CFG_KEY_HOMESERVER_ALLOW,
	CFG_KEY_HTTP_CA_FILE,
	CFG_KEY_HTTP_ALLOW,
	CFG_KEY_SMTP_URL,
	CFG_KEY_SMTP_TLS,
	CFG_KEY_SMTP_USER,
	CFG_KEY_SMTP_PASSWORD,
	CFG_KEY_SMTP_CA_FILE,
	CFG_KEY_MAIL_FROM,
	CFG_KEY_TEMPLATE_DIR,
	CFG_KEY_DEFAULT_BRAND,
	CFG_KEY_NEXT_LINK_HOSTS,
	CFG_KEY_MAX_TOKEN_ATTEMPTS,
	CFG_KEY_RATELIMIT_ADDRESS,
	CFG_KEY_RATELIMIT_REQUESTER,
	CFG_KEY_SMS_GATEWAY,
	CFG_KEY_SMS_URL,
	CFG_KEY_SMS_TOKEN,
	CFG_KEY_SMS_ACCOUNT,
	CFG_KEY_SMS_FROM,
	CFG_KEY_SMS_CODE_LENGTH,
	CFG_KEY_SMS_ALLOW_REGIONS,
	CFG_KEY_SMS_DENY_REGIONS,
	CFG_KEY_RATELIMIT_MSISDN,
	CFG_KEY_RATELIMIT_COUNTRY,
	CFG_KEY_LOOKUP_MAX_ADDRESSES,
	CFG_KEY_LOOKUP_ALLOW_NONE,
	CFG_KEY_RATELIMIT_LOOKUP_IP,
	CFG_KEY_RATELIMIT_LOOKUP_USER,
	CFG_KEY_INVITE_LIFETIME,
	CFG_KEY_INVITE_BLOCK_HOMESERVERS,
	CFG_KEY_INVITE_BLOCK_ROOMS,
	CFG_KEY_INVITE_BLOCK_KEYWORDS,
	CFG_KEY_RATELIMIT_INVITE_SENDER,
	CFG_KEY_RATELIMIT_INVITE_ADDRESS,
	CFG_KEY_RATELIMIT_INVITE_CLIENT,
	CFG_KEY_RATELIMIT_INVITE_ROOM,
	CFG_KEY_RATELIMIT_INVITE_USER,
	CFG_KEY_INVITE_V1_CLIENTS,
	CFG_KEY_INVITE_REDACT_LOCAL,
	CFG_KEY_INVITE_REDACT_DOMAIN,
	CFG_KEY_INVITE_WEB_CLIENT,
	CFG_KEY_INVITE_WEB_CLIENT_HOSTS,
	CFG_KEY_INVITE_SUBJECT,
	CFG_KEY_INVITE_SUBJECT_SPACE,
	CFG_KEY_INVITE_DELETE_ON_DELIVERY,
	CFG_KEY_ONBIND_RETRY_MAX,
	CFG_KEY_HTTP_BUDGET,
	CFG_KEY_HTTP_KEY_FAILURE_TTL,
	CFG_KEY_ONBIND_CONCURRENCY,
	CFG_KEY_METRICS_DIR,
	CFG_KEY_SLOW_REQUEST,
	CFG_KEY__MAX
};

#define CFG_REQUIRED	0x01

static const struct {
	const char	*name;
	size_t		 offset;	/* into struct cfg */
	enum cfg_type	 type;
	int		 flags;
} cfg_keys[CFG_KEY__MAX] = {
	[CFG_KEY_SERVER_NAME] = { "server_name",
	    offsetof(struct cfg, server_name), CFG_SERVER_NAME, CFG_REQUIRED },
	[CFG_KEY_PUBLIC_BASE_URL] = { "public_base_url",
	    offsetof(struct cfg, public_base_url), CFG_URL, CFG_REQUIRED },
	[CFG_KEY_DATABASE] = { "database",
	    offsetof(struct cfg, database), CFG_STRING, CFG_REQUIRED },
	[CFG_KEY_DATABASE_REPLICA] = { "database_replica",
	    offsetof(struct cfg, database_replica), CFG_STRING, 0 },
	[CFG_KEY_SIGNING_KEY] = { "signing_key",
	    offsetof(struct cfg, signing_key), CFG_STRING, CFG_REQUIRED },
	[CFG_KEY_SIGNING_KEY_ID] = { "signing_key_id",
	    offsetof(struct cfg, signing_key_id), CFG_STRING, 0 },
	[CFG_KEY_ENABLE_V1] = { "enable_v1",
	    offsetof(struct cfg, enable_v1), CFG_BOOL, 0 },
	[CFG_KEY_OLD_KEY] = { "old_key",
	    offsetof(struct cfg, old_keys), CFG_PUBKEY, 0 },
	[CFG_KEY_REVOKED_KEY] = { "revoked_key",
	    offsetof(struct cfg, revoked_keys), CFG_PUBKEY, 0 },
	[CFG_KEY_TERMS_FILE] = { "terms_file",
	    offsetof(struct cfg, terms_file), CFG_STRING, 0 },
	[CFG_KEY_TOKEN_LIFETIME] = { "token_lifetime",
	    offsetof(struct cfg, token_lifetime), CFG_SECONDS, 0 },
	[CFG_KEY_ALLOW_ACCESS_TOKEN_QUERY] = { "allow_access_token_query",
	    offsetof(struct cfg, allow_access_token_query), CFG_BOOL, 0 },
	[CFG_KEY_HOMESERVER_ALLOW] = { "homeserver_allow",
	    offsetof(struct cfg, homeserver_allow), CFG_SERVER_LIST, 0 },
	[CFG_KEY_HTTP_CA_FILE] = { "http_ca_file",
	    offsetof(struct cfg, http_ca_file), CFG_STRING, 0 },
	[CFG_KEY_HTTP_ALLOW] = { "http_allow",
	    offsetof(struct cfg, http_allow), CFG_RANGE_LIST, 0 },
	[CFG_KEY_SMTP_URL] = { "smtp_url",
	    offsetof(struct cfg, smtp_url), CFG_STRING, 0 },
	[CFG_KEY_SMTP_TLS] = { "smtp_tls",
	    offsetof(struct cfg, smtp_tls), CFG_TLS_MODE, 0 },
	[CFG_KEY_SMTP_USER] = { "smtp_user",
	    offsetof(struct cfg, smtp_user), CFG_STRING, 0 },
	[CFG_KEY_SMTP_PASSWORD] = { "smtp_password",
	    offsetof(struct cfg, smtp_password), CFG_STRING, 0 },
	[CFG_KEY_SMTP_CA_FILE] = { "smtp_ca_file",
	    offsetof(struct cfg, smtp_ca_file), CFG_STRING, 0 },
	[CFG_KEY_MAIL_FROM] = { "mail_from",
	    offsetof(struct cfg, mail_from), CFG_STRING, 0 },
	[CFG_KEY_TEMPLATE_DIR] = { "template_dir",
	    offsetof(struct cfg, template_dir), CFG_STRING, 0 },
	[CFG_KEY_DEFAULT_BRAND] = { "default_brand",
	    offsetof(struct cfg, default_brand), CFG_STRING, 0 },
	[CFG_KEY_NEXT_LINK_HOSTS] = { "next_link_hosts",
	    offsetof(struct cfg, next_link_hosts), CFG_HOST_LIST, 0 },
	[CFG_KEY_MAX_TOKEN_ATTEMPTS] = { "max_token_attempts",
	    offsetof(struct cfg, max_token_attempts), CFG_COUNT, 0 },
	[CFG_KEY_RATELIMIT_ADDRESS] = { "ratelimit_address",
	    offsetof(struct cfg, ratelimit_address), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_REQUESTER] = { "ratelimit_requester",
	    offsetof(struct cfg, ratelimit_requester), CFG_RATE, 0 },
	[CFG_KEY_SMS_GATEWAY] = { "sms_gateway",
	    offsetof(struct cfg, sms_gateway), CFG_SMS_GATEWAY, 0 },
	[CFG_KEY_SMS_URL] = { "sms_url",
	    offsetof(struct cfg, sms_url), CFG_URL, 0 },
	[CFG_KEY_SMS_TOKEN] = { "sms_token",
	    offsetof(struct cfg, sms_token), CFG_STRING, 0 },
	[CFG_KEY_SMS_ACCOUNT] = { "sms_account",
	    offsetof(struct cfg, sms_account), CFG_STRING, 0 },
	[CFG_KEY_SMS_FROM] = { "sms_from",
	    offsetof(struct cfg, sms_from), CFG_STRING, 0 },
	[CFG_KEY_SMS_CODE_LENGTH] = { "sms_code_length",
	    offsetof(struct cfg, sms_code_length), CFG_CODE_LENGTH, 0 },
	[CFG_KEY_SMS_ALLOW_REGIONS] = { "sms_allow_regions",
	    offsetof(struct cfg, sms_allow_regions), CFG_REGION_LIST, 0 },
	[CFG_KEY_SMS_DENY_REGIONS] = { "sms_deny_regions",
	    offsetof(struct cfg, sms_deny_regions), CFG_REGION_LIST, 0 },
	[CFG_KEY_RATELIMIT_MSISDN] = { "ratelimit_msisdn",
	    offsetof(struct cfg, ratelimit_msisdn), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_COUNTRY] = { "ratelimit_country",
	    offsetof(struct cfg, ratelimit_country), CFG_RATE, 0 },
	[CFG_KEY_LOOKUP_MAX_ADDRESSES] = { "lookup_max_addresses",
	    offsetof(struct cfg, lookup_max_addresses), CFG_LOOKUP_CAP, 0 },
	[CFG_KEY_LOOKUP_ALLOW_NONE] = { "lookup_allow_none",
	    offsetof(struct cfg, lookup_allow_none), CFG_BOOL, 0 },
	[CFG_KEY_RATELIMIT_LOOKUP_IP] = { "ratelimit_lookup_ip",
	    offsetof(struct cfg, ratelimit_lookup_ip), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_LOOKUP_USER] = { "ratelimit_lookup_user",
	    offsetof(struct cfg, ratelimit_lookup_user), CFG_RATE, 0 },
	[CFG_KEY_INVITE_LIFETIME] = { "invite_lifetime",
	    offsetof(struct cfg, invite_lifetime), CFG_SECONDS, 0 },
	[CFG_KEY_INVITE_BLOCK_HOMESERVERS] = { "invite_block_homeservers",
	    offsetof(struct cfg, invite_block_homeservers), CFG_SERVER_LIST,
	    0 },
	[CFG_KEY_INVITE_BLOCK_ROOMS] = { "invite_block_rooms",
	    offsetof(struct cfg, invite_block_rooms), CFG_WORD_LIST, 0 },
	[CFG_KEY_INVITE_BLOCK_KEYWORDS] = { "invite_block_keywords",
	    offsetof(struct cfg, invite_block_keywords), CFG_WORD_LIST, 0 },
	[CFG_KEY_RATELIMIT_INVITE_SENDER] = { "ratelimit_invite_sender",
	    offsetof(struct cfg, ratelimit_invite_sender), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_INVITE_ADDRESS] = { "ratelimit_invite_address",
	    offsetof(struct cfg, ratelimit_invite_address), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_INVITE_CLIENT] = { "ratelimit_invite_client",
	    offsetof(struct cfg, ratelimit_invite_client), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_INVITE_ROOM] = { "ratelimit_invite_room",
	    offsetof(struct cfg, ratelimit_invite_room), CFG_RATE, 0 },
	[CFG_KEY_RATELIMIT_INVITE_USER] = { "ratelimit_invite_user",
	    offsetof(struct cfg, ratelimit_invite_user), CFG_RATE, 0 },
	[CFG_KEY_INVITE_V1_CLIENTS] = { "invite_v1_clients",
	    offsetof(struct cfg, invite_v1_clients), CFG_RANGE_LIST, 0 },
	[CFG_KEY_INVITE_REDACT_LOCAL] = { "invite_redact_local",
	    offsetof(struct cfg, invite_redact_local), CFG_COUNT, 0 },
	[CFG_KEY_INVITE_REDACT_DOMAIN] = { "invite_redact_domain",
	    offsetof(struct cfg, invite_redact_domain), CFG_COUNT, 0 },
	[CFG_KEY_INVITE_WEB_CLIENT] = { "invite_web_client",
	    offsetof(struct cfg, invite_web_client), CFG_URL, 0 },
	[CFG_KEY_INVITE_WEB_CLIENT_HOSTS] = { "invite_web_client_hosts",
	    offsetof(struct cfg, invite_web_client_hosts), CFG_HOST_LIST, 0 },
	[CFG_KEY_INVITE_SUBJECT] = { "invite_subject",
	    offsetof(struct cfg, invite_subject), CFG_STRING, 0 },
	[CFG_KEY_INVITE_SUBJECT_SPACE] = { "invite_subject_space",
	    offsetof(struct cfg, invite_subject_space), CFG_STRING, 0 },
	[CFG_KEY_INVITE_DELETE_ON_DELIVERY] = { "invite_delete_on_delivery",
	    offsetof(struct cfg, invite_delete_on_delivery), CFG_BOOL, 0 },
	[CFG_KEY_ONBIND_RETRY_MAX] = { "onbind_retry_max",
	    offsetof(struct cfg, onbind_retry_max), CFG_SECONDS, 0 },
	[CFG_KEY_HTTP_BUDGET] = { "http_budget",
	    offsetof(struct cfg, http_budget), CFG_BUDGET, 0 },
	[CFG_KEY_HTTP_KEY_FAILURE_TTL] = { "http_key_failure_ttl",
	    offsetof(struct cfg, http_key_failure_ttl), CFG_SECONDS, 0 },
	[CFG_KEY_ONBIND_CONCURRENCY] = { "onbind_concurrency",
	    offsetof(struct cfg, onbind_concurrency), CFG_COUNT, 0 },
	[CFG_KEY_METRICS_DIR] = { "metrics_dir",
	    offsetof(struct cfg, metrics_dir), CFG_STRING, 0 },
	[CFG_KEY_SLOW_REQUEST] = { "slow_request",
	    offsetof(struct cfg, slow_request), CFG_SECONDS, 0 },
};

/*
 * Returns the configuration path: "-c path" among the arguments, else
 * $SIGIL_CONFIG, else sigil.conf in the program's own directory when
 * there is one (a shared host, where Apache starts the programs and
 * neither an argument nor, under mod_fcgid, the environment can be set
 * from an .htaccess), else NULL.  The result is borrowed from argv or
 * environ, or a static buffer.
 */
const char *
cfg_path(int argc, char *const *argv)
{
	static char	 beside[4096];
	const char	*env;
	char		*slash;
	ssize_t		 n;
	int		 i;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-c") == 0)
			return argv[i + 1];
	if ((env = getenv("SIGIL_CONFIG")) != NULL && *env != '\0')
		return env;
	n = readlink("/proc/self/exe", beside, sizeof(beside) - 1);
	if (n <= 0 || (size_t)n >= sizeof(beside) - sizeof("sigil.conf"))
		return NULL;
	beside[n] = '\0';
	if ((slash = strrchr(beside, '/')) == NULL)
		return NULL;
	memcpy(slash + 1, "sigil.conf", sizeof("sigil.conf"));
	return access(beside, F_OK) == 0 ? beside : NULL;
}

static int
url_valid(const char *s)
{
	const char	*host;

	if ((host = http_url_host(s)) == NULL || *host == '\0' || *host == '/')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
cfg_set_pubkey(struct cfg *c, enum cfg_key key, char *value, char *err,
    size_t errlen)
{
	struct cfg_pubkey	*list, *k;
	size_t			*n;
	unsigned char		 raw[ED25519_PUBLIC_LEN + 3];
	size_t			 rawlen;
	char			*id, *pub, *extra, *save = NULL;

	if (key == CFG_KEY_OLD_KEY) {
		list = c->old_keys;
		n = &c->n_old_keys;
	} else {
		list = c->revoked_keys;
		n = &c->n_revoked_keys;
	}
	id = strtok_r(value, " \t", &save);
	pub = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (id == NULL || pub == NULL || extra != NULL) {
		snprintf(err, errlen, "want \"ed25519:<id> <public key>\"");
		return -1;
	}
	if (!ident_key_id_valid(id)) {
		snprintf(err, errlen, "bad key id (want ed25519:[a-zA-Z0-9_]+)");
		return -1;
	}
	if (b64_decode(pub, strlen(pub), raw, sizeof(raw), &rawlen) == -1 ||
	    rawlen != ED25519_PUBLIC_LEN) {
		snprintf(err, errlen, "the public key is not 32 bytes of "
		    "base64");
		return -1;
	}
	if (*n >= MAX_KEYS) {
		snprintf(err, errlen, "more than %d keys", MAX_KEYS);
		return -1;
	}
	k = &list[(*n)++];
	snprintf(k->id, sizeof(k->id), "%s", id);
	/* Store the standard unpadded form, whatever form was written. */
	b64_encode(raw, rawlen, B64_STANDARD, k->public_b64,
	    sizeof(k->public_b64));
	return 0;
}

/* Reads "<count> <seconds>" (count 0, alone, turns the limit off). */
static int
cfg_set_rate(struct cfg_rate *r, char *value, char *err, size_t errlen)
{
	char	*count, *seconds, *extra, *save = NULL;

	count = strtok_r(value, " \t", &save);
	seconds = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (count != NULL && strcmp(count, "0") == 0 && seconds == NULL) {
		r->count = r->seconds = 0;
		return 0;
	}
	if (count == NULL || seconds == NULL || extra != NULL ||
	    parse_int64(count, 0, 1000000, &r->count) == -1 ||
	    parse_int64(seconds, 1, 86400 * 30, &r->seconds) == -1) {
		snprintf(err, errlen, "want \"<count> <seconds>\", or 0 "
		    "for no limit");
		return -1;
	}
	return 0;
}

/* Appends the space-separated items of value to a list-valued key. */
static int
cfg_set_list(struct cfg *c, enum cfg_key key, char *value, char *err,
    size_t errlen)
{
	char	*item, *save = NULL;
	size_t	*n;

	char	**list;

	if (key == CFG_KEY_HTTP_ALLOW) {
		n = &c->n_http_allow;
		list = NULL;
	} else if (key == CFG_KEY_INVITE_V1_CLIENTS) {
		n = &c->n_invite_v1_clients;
		list = NULL;
	} else if (key == CFG_KEY_INVITE_WEB_CLIENT_HOSTS) {
		n = &c->n_invite_web_client_hosts;
		list = c->invite_web_client_hosts;
	} else if (key == CFG_KEY_NEXT_LINK_HOSTS) {
		n = &c->n_next_link_hosts;
		list = c->next_link_hosts;
	} else if (key == CFG_KEY_SMS_ALLOW_REGIONS) {
		n = &c->n_sms_allow_regions;
		list = c->sms_allow_regions;
	} else if (key == CFG_KEY_SMS_DENY_REGIONS) {
		n = &c->n_sms_deny_regions;
		list = c->sms_deny_regions;
	} else if (key == CFG_KEY_INVITE_BLOCK_HOMESERVERS) {
		n = &c->n_invite_block_homeservers;
		list = c->invite_block_homeservers;
	} else if (key == CFG_KEY_INVITE_BLOCK_ROOMS) {
		n = &c->n_invite_block_rooms;
		list = c->invite_block_rooms;
	} else if (key == CFG_KEY_INVITE_BLOCK_KEYWORDS) {
		n = &c->n_invite_block_keywords;
		list = c->invite_block_keywords;
	} else {
		n = &c->n_homeserver_allow;
		list = c->homeserver_allow;
	}
	for (item = strtok_r(value, " \t", &save); item != NULL;
	    item = strtok_r(NULL, " \t", &save)) {
		if (*n >= MAX_LIST) {
			snprintf(err, errlen, "more than %d items", MAX_LIST);
			return -1;
		}
		if (key == CFG_KEY_SMS_ALLOW_REGIONS ||
		    key == CFG_KEY_SMS_DENY_REGIONS) {
			if (strlen(item) != 2 || item[0] < 'A' || item[0] > 'Z' ||
			    item[1] < 'A' || item[1] > 'Z') {
				snprintf(err, errlen, "\"%.16s\" is not an ISO "
				    "3166 alpha-2 code like GB", item);
				return -1;
			}
			list[*n] = xstrdup(item);
		} else if (key == CFG_KEY_INVITE_BLOCK_KEYWORDS ||
		    key == CFG_KEY_INVITE_BLOCK_ROOMS) {
			if (!json_utf8_valid((const unsigned char *)item,
			    strlen(item))) {
				snprintf(err, errlen, "\"%.64s\" is not UTF-8",
				    item);
				return -1;
			}
			list[*n] = xstrdup(item);
		} else if (key == CFG_KEY_HTTP_ALLOW ||
		    key == CFG_KEY_INVITE_V1_CLIENTS) {
			if (netrange_parse(item, key == CFG_KEY_HTTP_ALLOW ?
			    &c->http_allow[*n] : &c->invite_v1_clients[*n]) ==
			    -1) {
				snprintf(err, errlen, "\"%.64s\" is not an "
				    "address or address/prefix", item);
				return -1;
			}
		} else {
			if (!ident_server_name_valid(item)) {
				snprintf(err, errlen, "\"%.64s\" is not a "
				    "server name", item);
				return -1;
			}
			list[*n] = xstrdup(item);
		}
		(*n)++;
	}
	return 0;
}

static int
cfg_set(struct cfg *c, enum cfg_key key, char *value, char *err,
    size_t errlen)
{
	char	**str = (char **)((char *)c + cfg_keys[key].offset);
	int	 *flag = (int *)((char *)c + cfg_keys[key].offset);

	switch (cfg_keys[key].type) {
	case CFG_SERVER_NAME:
		if (!ident_server_name_valid(value)) {
			snprintf(err, errlen, "not a server name "
			    "(host or IP literal, optional :port)");
			return -1;
		}
		break;
	case CFG_URL:
		if (!url_valid(value)) {
			snprintf(err, errlen, "not an http:// or https:// URL");
			return -1;
		}
		while (strlen(value) > 0 && value[strlen(value) - 1] == '/')
			value[strlen(value) - 1] = '\0';
		break;
	case CFG_STRING:
		break;
	case CFG_BOOL:
		if (strcmp(value, "true") == 0)
			*flag = 1;
		else if (strcmp(value, "false") == 0)
			*flag = 0;
		else {
			snprintf(err, errlen, "want true or false");
			return -1;
		}
		return 0;
	case CFG_PUBKEY:
		return cfg_set_pubkey(c, key, value, err, errlen);
	case CFG_SECONDS:
		if (parse_int64(value, 0, INT64_C(100) * 365 * 86400,
		    (int64_t *)(void *)flag) == -1) {
			snprintf(err, errlen, "want a whole number of seconds");
			return -1;
		}
		return 0;
	case CFG_SERVER_LIST:
	case CFG_HOST_LIST:
	case CFG_RANGE_LIST:
	case CFG_REGION_LIST:
	case CFG_WORD_LIST:
		return cfg_set_list(c, key, value, err, errlen);
	case CFG_SMS_GATEWAY:
		if (strcmp(value, "none") != 0 &&
		    strcmp(value, "webhook") != 0 &&
		    strcmp(value, "twilio") != 0) {
			snprintf(err, errlen, "want none, webhook or twilio");
			return -1;
		}
		break;
	case CFG_LOOKUP_CAP:
		if (parse_int64(value, 1, 100000, (int64_t *)(void *)flag) ==
		    -1) {
			snprintf(err, errlen, "want 1 to 100000");
			return -1;
		}
		return 0;
	case CFG_CODE_LENGTH:
		if (parse_int64(value, 6, 12, (int64_t *)(void *)flag) == -1) {
			snprintf(err, errlen, "want 6 to 12 digits");
			return -1;
		}
		return 0;
	case CFG_BUDGET:
		if (parse_int64(value, 1, 12, (int64_t *)(void *)flag) == -1) {
			snprintf(err, errlen, "want 1 to 12 seconds (the web "
			    "server gives a request 15)");
			return -1;
		}
		return 0;
	case CFG_COUNT:
		if (parse_int64(value, 1, 1000, (int64_t *)(void *)flag) ==
		    -1) {
			snprintf(err, errlen, "want a whole number from 1 to "
			    "1000");
			return -1;
		}
		return 0;
	case CFG_RATE:
		return cfg_set_rate((struct cfg_rate *)(void *)flag, value,
		    err, errlen);
	case CFG_TLS_MODE:
		if (strcmp(value, "starttls") != 0 &&
		    strcmp(value, "opportunistic") != 0 &&
		    strcmp(value, "off") != 0) {
			snprintf(err, errlen, "want starttls, opportunistic "
			    "or off");
			return -1;
		}
		break;
	}
	free(*str);		/* a default set before parsing */
	if (key == CFG_KEY_SIGNING_KEY_ID && !ident_key_id_valid(value)) {
		snprintf(err, errlen, "bad key id (want ed25519:[a-zA-Z0-9_]+)");
		return -1;
	}
	*str = xstrdup(value);
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Parses len bytes of configuration text into c (which the caller zeroed
 * or never used).  name is the file name used in messages.  Returns 0, or
 * -1 with "name:line: reason" in err; c is freed by cfg_free either way.
 */
int
cfg_parse(const char *name, const char *text, size_t len, struct cfg *c,
    char *err, size_t errlen)
{
	unsigned char	 seen[CFG_KEY__MAX] = { 0 };
	char		 line[MAX_CFG_LINE + 1], why[256];
	char		*k, *v, *eq;
	const char	*p = text, *end = text + len, *nl;
	size_t		 lineno = 0, n;
	int		 i, key;

	c->enable_v1 = 1;
	c->smtp_url = xstrdup("smtp://127.0.0.1:25");
	c->smtp_tls = xstrdup("starttls");
	c->default_brand = xstrdup("default");
	c->max_token_attempts = 10;
	c->ratelimit_address = (struct cfg_rate){ 10, 3600 };
	c->ratelimit_requester = (struct cfg_rate){ 50, 3600 };
	c->sms_gateway = xstrdup("none");
	c->sms_code_length = 6;
	c->lookup_max_addresses = 10000;
	c->lookup_allow_none = 1;
	c->allow_access_token_query = 1;
	c->ratelimit_lookup_ip = (struct cfg_rate){ 100000, 3600 };
	c->ratelimit_lookup_user = (struct cfg_rate){ 100000, 3600 };
	c->ratelimit_msisdn = (struct cfg_rate){ 5, 3600 };
	c->ratelimit_country = (struct cfg_rate){ 50, 60 };
	c->invite_lifetime = 30 * 86400;
	c->ratelimit_invite_sender = (struct cfg_rate){ 20, 3600 };
	c->ratelimit_invite_address = (struct cfg_rate){ 10, 3600 };
	c->ratelimit_invite_client = (struct cfg_rate){ 100, 3600 };
	c->ratelimit_invite_room = (struct cfg_rate){ 50, 3600 };
	c->ratelimit_invite_user = (struct cfg_rate){ 20, 3600 };
	c->invite_redact_local = 3;
	c->invite_redact_domain = 3;
	c->invite_web_client = xstrdup("https://app.element.io");
	c->invite_subject = xstrdup("%(sender_display_name)s has invited you "
	    "to chat");
	c->invite_subject_space = xstrdup("%(sender_display_name)s has "
	    "invited you to a space");
	c->invite_delete_on_delivery = 0;
	c->onbind_retry_max = 3600;
	c->http_budget = 8;
	c->http_key_failure_ttl = 60;
	c->onbind_concurrency = 8;
	c->slow_request = -1;
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > MAX_CFG_LINE) {
			snprintf(err, errlen, "%s:%zu: line too long", name,
			    lineno);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl < end ? nl + 1 : end;
		if (memchr(line, '\0', n) != NULL) {
			snprintf(err, errlen, "%s:%zu: NUL byte", name, lineno);
			return -1;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%zu: expected key = value",
			    name, lineno);
			return -1;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		for (key = -1, i = 0; i < CFG_KEY__MAX; i++)
			if (strcmp(cfg_keys[i].name, k) == 0)
				key = i;
		if (key == -1) {
			snprintf(err, errlen, "%s:%zu: unknown key \"%.64s\"",
			    name, lineno, k);
			return -1;
		}
		if (seen[key] && cfg_keys[key].type != CFG_PUBKEY &&
		    cfg_keys[key].type != CFG_SERVER_LIST &&
		    cfg_keys[key].type != CFG_HOST_LIST &&
		    cfg_keys[key].type != CFG_REGION_LIST &&
		    cfg_keys[key].type != CFG_WORD_LIST &&
		    cfg_keys[key].type != CFG_RANGE_LIST) {
			snprintf(err, errlen, "%s:%zu: %s is set twice", name,
			    lineno, k);
			return -1;
		}
		seen[key] = 1;
		if (*v == '\0') {
			snprintf(err, errlen, "%s:%zu: %s has no value", name,
			    lineno, k);
			return -1;
		}
		if (cfg_set(c, (enum cfg_key)key, v, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%zu: %s: %s", name, lineno, k,
			    why);
			return -1;
		}
	}
	for (i = 0; i < CFG_KEY__MAX; i++)
		if ((cfg_keys[i].flags & CFG_REQUIRED) && !seen[i]) {
			snprintf(err, errlen, "%s: %s is required", name,
			    cfg_keys[i].name);
			return -1;
		}
	return 0;
}

/*
 * Reads and parses the file at path into c.  Returns 0, or -1 with the
 * reason in err.
 */
int
cfg_load(const char *path, struct cfg *c, char *err, size_t errlen)
{
	FILE	*f;
	char	*text;
	size_t	 len;
	int	 rc;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	text = xmalloc(MAX_CFG_FILE);
	len = fread(text, 1, MAX_CFG_FILE, f);
	if (ferror(f) || !feof(f)) {
		snprintf(err, errlen, "%s: unreadable or over 1 MiB", path);
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	rc = cfg_parse(path, text, len, c, err, errlen);
	free(text);
	return rc;
}

/* Frees the strings c owns; c is zeroed. */
void
cfg_free(struct cfg *c)
{
	size_t	 i;

	free(c->server_name);
	free(c->public_base_url);
	free(c->database);
	free(c->database_replica);
	free(c->signing_key);
	free(c->signing_key_id);
	free(c->terms_file);
	free(c->http_ca_file);
	for (i = 0; i < c->n_homeserver_allow; i++)
		free(c->homeserver_allow[i]);
	for (i = 0; i < c->n_next_link_hosts; i++)
		free(c->next_link_hosts[i]);
	free(c->smtp_url);
	free(c->smtp_tls);
	free(c->smtp_user);
	free(c->smtp_password);
	free(c->smtp_ca_file);
	free(c->mail_from);
	free(c->template_dir);
	free(c->metrics_dir);
	free(c->default_brand);
	for (i = 0; i < c->n_sms_allow_regions; i++)
		free(c->sms_allow_regions[i]);
	for (i = 0; i < c->n_sms_deny_regions; i++)
		free(c->sms_deny_regions[i]);
	free(c->sms_gateway);
	free(c->sms_url);
	free(c->sms_token);
	free(c->sms_account);
	free(c->sms_from);
	for (i = 0; i < c->n_invite_block_homeservers; i++)
		free(c->invite_block_homeservers[i]);
	for (i = 0; i < c->n_invite_block_rooms; i++)
		free(c->invite_block_rooms[i]);
	for (i = 0; i < c->n_invite_block_keywords; i++)
		free(c->invite_block_keywords[i]);
	free(c->invite_web_client);
	for (i = 0; i < c->n_invite_web_client_hosts; i++)
		free(c->invite_web_client_hosts[i]);
	free(c->invite_subject);
	free(c->invite_subject_space);
	memset(c, 0, sizeof(*c));
}
