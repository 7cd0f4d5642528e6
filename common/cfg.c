/*
 * Reading the configuration file.  Each key is one row of cfg_keys[]: its
 * name, how its value is checked, where it is stored, its default, and
 * whether lines add to it; parsing, defaults and freeing all walk that
 * table.  An unknown key, a repeated one, a bad value or a missing
 * required key stops the start with "file:line: reason".
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "cfg.h"
#include "clientnet.h"
#include "ident.h"
#include "json.h"
#include "sign.h"
#include "util.h"

const char *const ratelimit_name[RATELIMIT__MAX] = {
	"address", "requester", "msisdn", "country", "lookup_ip",
	"lookup_user", "invite_sender", "invite_address", "invite_client",
	"invite_room", "invite_user",
};

enum cfg_type {
	CFG_STRING,		/* any non-empty text */
	CFG_KEY_ID,		/* "ed25519:<id>" */
	CFG_SERVER_NAME,	/* a Matrix server name */
	CFG_URL,		/* http(s):// URL, stored without '/' end */
	CFG_LDAP_URL,		/* ldap://, ldaps:// or ldapi:// URLs */
	CFG_LDAP_ATTR,		/* an LDAP attribute name or OID */
	CFG_BOOL,		/* true or false, into an int */
	CFG_INT,		/* a whole number within bounds, int64_t */
	CFG_CHOICE,		/* one of a few words, stored as text */
	CFG_RATE,		/* "<count> <seconds>", or 0 for off */
	CFG_PUBKEY,		/* "ed25519:<id> <base64 public key>" */
	CFG_LIST,		/* items separated by spaces */
};

/* What an item of a CFG_LIST must be, and how it is stored. */
enum cfg_item {
	ITEM_SERVER,		/* a server name, char * */
	ITEM_REGION,		/* an ISO 3166 alpha-2 code, char * */
	ITEM_WORD,		/* any UTF-8 word, char * */
	ITEM_RANGE,		/* an address range, struct netrange */
	ITEM_LDAP_ATTR,		/* an LDAP attribute name or OID, char * */
};

/* The bounds of a CFG_INT, and what a value outside them is told. */
struct cfg_bounds {
	int64_t		 min, max;
	int64_t		 absent;	/* no key and no default */
	const char	*why;
};

static const struct cfg_bounds b_seconds = { 0, INT64_C(100) * 365 * 86400, 0,
	"want a whole number of seconds" };
static const struct cfg_bounds b_seconds_or_off = { 0,
	INT64_C(100) * 365 * 86400, -1, "want a whole number of seconds" };
static const struct cfg_bounds b_count = { 1, 1000, 0,
	"want a whole number from 1 to 1000" };
static const struct cfg_bounds b_code_length = { 6, 12, 0,
	"want 6 to 12 digits" };
static const struct cfg_bounds b_lookup_cap = { 1, 100000, 0,
	"want 1 to 100000" };
static const struct cfg_bounds b_v6_prefix = { CLIENTNET_PREFIX_MIN,
	CLIENTNET_PREFIX_MAX, 0, "want a prefix length from 32 to 128" };
static const struct cfg_bounds b_budget = { 1, 12, 0,
	"want 1 to 12 seconds (the web server gives a request 15)" };
static const struct cfg_bounds b_page_size = { 0, 100000, 0,
	"want 0 (no paging) to 100000" };
static const struct cfg_bounds b_ldap_timeout = { 1, 3600, 0,
	"want 1 to 3600 seconds" };

static const struct cfg_bounds b_sync_interval = { 10, 7 * 86400, 0,
	"want 10 seconds to a week" };
static const struct cfg_bounds b_percent = { 0, 100, 0,
	"want a whole number from 0 to 100" };

/* The words of a CFG_CHOICE, NULL-ended. */
static const char *const tls_modes[] = { "starttls", "opportunistic", "off",
	NULL };
static const char *const sms_gateways[] = { "none", "webhook", "twilio",
	NULL };
static const char *const user_bind_modes[] = { "allow", "refuse", NULL };

#define CFG_REQUIRED	0x01	/* the start stops without it */
#define CFG_REPEAT	0x02	/* each line adds to the list */

struct cfg_key {
	const char		*name;	/* NULL: "ratelimit_<limit>" */
	size_t			 off;	/* into struct cfg */
	const char		*def;	/* the default, as written */
	size_t			 n_off;	/* lists, keys: count */
	const struct cfg_bounds	*bounds;	/* CFG_INT */
	const char *const	*choices;	/* CFG_CHOICE */
	enum cfg_type		 type;
	int			 flags;
	enum cfg_item		 item;	/* CFG_LIST */
	enum ratelimit_id	 limit;	/* CFG_RATE */
};

/*
 * A row: name, type, field (AT), flags, then what the type needs.  The
 * default is written as in the file and set through the same checks, so
 * it obeys the key's bounds; a CFG_INT without one holds bounds->absent.
 */
#define AT(f)		offsetof(struct cfg, f)
#define KEY(k, t, f, fl) .name = (k), .type = (t), .off = AT(f), .flags = (fl)
#define LIST_KEY(k, f, it) KEY(k, CFG_LIST, f, CFG_REPEAT), \
			    .n_off = AT(n_##f), .item = (it)
#define LIST(k, f, it)	{ LIST_KEY(k, f, it) }
#define INT(k, f, b, d) { KEY(k, CFG_INT, f, 0), .def = (d), .bounds = &(b) }
#define RATE(l, d)	{ .type = CFG_RATE, .def = (d), .limit = (l) }

static const struct cfg_key cfg_keys[] = {
	{ KEY("server_name", CFG_SERVER_NAME, server_name, CFG_REQUIRED) },
	{ KEY("public_base_url", CFG_URL, public_base_url, CFG_REQUIRED) },
	{ KEY("database", CFG_STRING, database, CFG_REQUIRED) },
	{ KEY("database_replica", CFG_STRING, database_replica, 0) },
	{ KEY("signing_key", CFG_STRING, signing_key, CFG_REQUIRED) },
	{ KEY("signing_key_id", CFG_KEY_ID, signing_key_id, 0) },
	{ KEY("enable_v1", CFG_BOOL, enable_v1, 0), .def = "true" },
	{ KEY("old_key", CFG_PUBKEY, old_keys, CFG_REPEAT),
	    .n_off = AT(n_old_keys) },
	{ KEY("revoked_key", CFG_PUBKEY, revoked_keys, CFG_REPEAT),
	    .n_off = AT(n_revoked_keys) },
	{ KEY("terms_file", CFG_STRING, terms_file, 0) },
	INT("token_lifetime", token_lifetime, b_seconds, NULL),
	{ KEY("allow_access_token_query", CFG_BOOL,
	    allow_access_token_query, 0), .def = "true" },
	LIST("homeserver_allow", homeserver_allow, ITEM_SERVER),
	{ KEY("http_ca_file", CFG_STRING, http_ca_file, 0) },
	LIST("http_allow", http_allow, ITEM_RANGE),
	{ KEY("smtp_url", CFG_STRING, smtp_url, 0),
	    .def = "smtp://127.0.0.1:25" },
	{ KEY("smtp_tls", CFG_CHOICE, smtp_tls, 0),
	    .def = "starttls", .choices = tls_modes },
	{ KEY("smtp_user", CFG_STRING, smtp_user, 0) },
	{ KEY("smtp_password", CFG_STRING, smtp_password, 0) },
	{ KEY("smtp_ca_file", CFG_STRING, smtp_ca_file, 0) },
	{ KEY("mail_from", CFG_STRING, mail_from, 0) },
	{ KEY("template_dir", CFG_STRING, template_dir, 0) },
	{ KEY("default_brand", CFG_STRING, default_brand, 0),
	    .def = "default" },
	LIST("next_link_hosts", next_link_hosts, ITEM_SERVER),
	INT("max_token_attempts", max_token_attempts, b_count, "10"),
	RATE(RATELIMIT_ADDRESS, "10 3600"),
	RATE(RATELIMIT_REQUESTER, "50 3600"),
	INT("client_ipv6_prefix", client_ipv6_prefix, b_v6_prefix, "64"),
	{ KEY("sms_gateway", CFG_CHOICE, sms_gateway, 0),
	    .def = "none", .choices = sms_gateways },
	{ KEY("sms_url", CFG_URL, sms_url, 0) },
	{ KEY("sms_token", CFG_STRING, sms_token, 0) },
	{ KEY("sms_account", CFG_STRING, sms_account, 0) },
	{ KEY("sms_from", CFG_STRING, sms_from, 0) },
	INT("sms_code_length", sms_code_length, b_code_length, "6"),
	LIST("sms_allow_regions", sms_allow_regions, ITEM_REGION),
	LIST("sms_deny_regions", sms_deny_regions, ITEM_REGION),
	RATE(RATELIMIT_MSISDN, "5 3600"),
	RATE(RATELIMIT_COUNTRY, "50 60"),
	INT("lookup_max_addresses", lookup_max_addresses, b_lookup_cap,
	    "10000"),
	{ KEY("lookup_allow_none", CFG_BOOL, lookup_allow_none, 0),
	    .def = "true" },
	RATE(RATELIMIT_LOOKUP_IP, "100000 3600"),
	RATE(RATELIMIT_LOOKUP_USER, "100000 3600"),
	INT("invite_lifetime", invite_lifetime, b_seconds, "2592000"),
	LIST("invite_block_homeservers", invite_block_homeservers,
	    ITEM_SERVER),
	LIST("invite_block_rooms", invite_block_rooms, ITEM_WORD),
	LIST("invite_block_keywords", invite_block_keywords, ITEM_WORD),
	RATE(RATELIMIT_INVITE_SENDER, "20 3600"),
	RATE(RATELIMIT_INVITE_ADDRESS, "10 3600"),
	RATE(RATELIMIT_INVITE_CLIENT, "100 3600"),
	RATE(RATELIMIT_INVITE_ROOM, "50 3600"),
	RATE(RATELIMIT_INVITE_USER, "20 3600"),
	LIST("invite_v1_clients", invite_v1_clients, ITEM_RANGE),
	{ LIST_KEY("internal_api_clients", internal_api_clients, ITEM_RANGE),
	    .def = "127.0.0.1 ::1" },
	INT("invite_redact_local", invite_redact_local, b_count, "3"),
	INT("invite_redact_domain", invite_redact_domain, b_count, "3"),
	{ KEY("invite_web_client", CFG_URL, invite_web_client, 0),
	    .def = "https://app.element.io" },
	LIST("invite_web_client_hosts", invite_web_client_hosts, ITEM_SERVER),
	{ KEY("invite_subject", CFG_STRING, invite_subject, 0),
	    .def = "%(sender_display_name)s has invited you to chat" },
	{ KEY("invite_subject_space", CFG_STRING, invite_subject_space, 0),
	    .def = "%(sender_display_name)s has invited you to a space" },
	{ KEY("invite_delete_on_delivery", CFG_BOOL,
	    invite_delete_on_delivery, 0), .def = "false" },
	INT("onbind_retry_max", onbind_retry_max, b_seconds, "3600"),
	INT("http_budget", http_budget, b_budget, "8"),
	INT("http_key_failure_ttl", http_key_failure_ttl, b_seconds, "60"),
	INT("onbind_concurrency", onbind_concurrency, b_count, "8"),
	INT("outbound_concurrency", outbound_concurrency, b_count, NULL),
	INT("health_notify_age", health_notify_age, b_seconds, "300"),
	{ KEY("metrics_dir", CFG_STRING, metrics_dir, 0) },
	INT("slow_request", slow_request, b_seconds_or_off, NULL),
	INT("request_timeout", request_timeout, b_budget, "10"),
	INT("sync_interval", sync_interval, b_sync_interval, "900"),
	INT("sync_max_remove_percent", sync_max_remove_percent, b_percent,
	    "10"),
	LIST("sync_domains", sync_domains, ITEM_SERVER),
	{ KEY("sync_user_binds", CFG_CHOICE, sync_user_binds, 0),
	    .def = "allow", .choices = user_bind_modes },
	{ KEY("sync_sql_conninfo", CFG_STRING, sync_sql_conninfo, 0) },
	{ KEY("sync_sql_query", CFG_STRING, sync_sql_query, 0),
	    .def = "SELECT medium, address, user_id FROM user_threepids" },
	{ KEY("ldap_uri", CFG_LDAP_URL, ldap_uri, 0) },
	{ KEY("ldap_starttls", CFG_BOOL, ldap_starttls, 0), .def = "false" },
	{ KEY("ldap_ca_file", CFG_STRING, ldap_ca_file, 0) },
	{ KEY("ldap_bind_dn", CFG_STRING, ldap_bind_dn, 0) },
	{ KEY("ldap_bind_password_file", CFG_STRING, ldap_bind_password_file,
	    0) },
	{ KEY("ldap_base", CFG_STRING, ldap_base, 0) },
	{ KEY("ldap_filter", CFG_STRING, ldap_filter, 0),
	    .def = "(objectClass=person)" },
	LIST("ldap_mail", ldap_mail, ITEM_LDAP_ATTR),
	{ KEY("ldap_localpart", CFG_LDAP_ATTR, ldap_localpart, 0),
	    .def = "uid" },
	INT("ldap_page_size", ldap_page_size, b_page_size, "500"),
	INT("ldap_timeout", ldap_timeout, b_ldap_timeout, "30"),
};

#define CFG_NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

#define RATE_PREFIX	"ratelimit_"

/* Returns 1 when the table's key k is called name, else 0. */
static int
key_is(const struct cfg_key *k, const char *name)
{
	if (k->name != NULL)
		return strcmp(k->name, name) == 0;
	return strncmp(name, RATE_PREFIX, sizeof(RATE_PREFIX) - 1) == 0 &&
	    strcmp(name + sizeof(RATE_PREFIX) - 1, ratelimit_name[k->limit]) ==
	    0;
}

/* Writes the name of the table's key k into buf; returns buf. */
static const char *
key_name(const struct cfg_key *k, char *buf, size_t len)
{
	if (k->name != NULL)
		snprintf(buf, len, "%s", k->name);
	else
		snprintf(buf, len, RATE_PREFIX "%s", ratelimit_name[k->limit]);
	return buf;
}

/*
 * Fills info with key number i of the table.  Returns 0, or -1 when
 * there is no such key.
 */
int
cfg_key_info(size_t i, struct cfg_key_info *info)
{
	const struct cfg_key	*k;

	if (i >= CFG_NKEYS)
		return -1;
	k = &cfg_keys[i];
	memset(info, 0, sizeof(*info));
	key_name(k, info->name, sizeof(info->name));
	info->def = k->def;
	info->repeatable = (k->flags & CFG_REPEAT) != 0;
	if (k->type == CFG_INT) {
		info->bounded = 1;
		info->min = k->bounds->min;
		info->max = k->bounds->max;
	}
	return 0;
}

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

	if ((env = argv_value(argc, argv, "-c")) != NULL)
		return env;
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

/*
 * Returns 1 when s is one or more ldap://, ldaps:// or ldapi:// URLs
 * separated by spaces (libldap tries them in turn), else 0.
 */
static int
ldap_url_valid(const char *s)
{
	static const char *const schemes[] = { "ldap://", "ldaps://",
		"ldapi://" };
	size_t	 i, n;

	for (;;) {
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (strncmp(s, schemes[i], strlen(schemes[i])) == 0)
				break;
		if (i == sizeof(schemes) / sizeof(schemes[0]))
			return 0;
		for (n = 0; s[n] != '\0' && s[n] != ' '; n++)
			if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
				return 0;
		s += n;
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return 1;
	}
}

/*
 * Returns 1 when s is an attribute's name (a letter, then letters, digits
 * and '-') or its numeric OID (RFC 4512, 1.4), else 0.
 */
static int
ldap_attr_valid(const char *s)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
		return strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
	for (;;) {
		if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' &&
		    s[1] <= '9'))
			return 0;
		s += strspn(s, "0123456789");
		if (*s == '\0')
			return 1;
		if (*s++ != '.')
			return 0;
	}
}

/* Appends the key of value ("ed25519:<id> <public key>") to list. */
static int
cfg_set_pubkey(struct cfg_pubkey *list, size_t *n, char *value, char *err,
    size_t errlen)
{
	struct cfg_pubkey	*k;
	unsigned char		 raw[ED25519_PUBLIC_LEN + 3];
	size_t			 rawlen;
	char			*id, *pub, *extra, *save = NULL;

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


/*
 * Checks one item of a list of kind item.  Returns 0, or -1 with why in
 * err.
 */
static int
item_valid(enum cfg_item item, const char *s, char *err, size_t errlen)
{
	switch (item) {
	case ITEM_REGION:
		if (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' ||
		    s[1] < 'A' || s[1] > 'Z') {
			snprintf(err, errlen, "\"%.16s\" is not an ISO 3166 "
			    "alpha-2 code like GB", s);
			return -1;
		}
		return 0;
	case ITEM_WORD:
		if (!json_utf8_valid((const unsigned char *)s, strlen(s))) {
			snprintf(err, errlen, "\"%.64s\" is not UTF-8", s);
			return -1;
		}
		return 0;
	case ITEM_SERVER:
		if (!ident_server_name_valid(s)) {
			snprintf(err, errlen, "\"%.64s\" is not a server name",
			    s);
			return -1;
		}
		return 0;
	case ITEM_LDAP_ATTR:
		if (!ldap_attr_valid(s)) {
			snprintf(err, errlen, "\"%.64s\" is not an attribute "
			    "name or OID", s);
			return -1;
		}
		return 0;
	case ITEM_RANGE:
		break;
	}
	return 0;
}

/* Appends the space-separated items of value to the list of key k. */
static int
cfg_set_list(struct cfg *c, const struct cfg_key *k, char *value, char *err,
    size_t errlen)
{
	size_t	*n = (size_t *)(void *)((char *)c + k->n_off);
	char	**words = (char **)(void *)((char *)c + k->off);
	struct netrange *ranges = (struct netrange *)(void *)((char *)c +
		    k->off);
	char	*item, *save = NULL;

	for (item = strtok_r(value, " \t", &save); item != NULL;
	    item = strtok_r(NULL, " \t", &save)) {
		if (*n >= MAX_LIST) {
			snprintf(err, errlen, "more than %d items", MAX_LIST);
			return -1;
		}
		if (k->item == ITEM_RANGE) {
			if (netrange_parse(item, &ranges[*n]) == -1) {
				snprintf(err, errlen, "\"%.64s\" is not an "
				    "address or address/prefix", item);
				return -1;
			}
		} else {
			if (item_valid(k->item, item, err, errlen) == -1)
				return -1;
			words[*n] = xstrdup(item);
		}
		(*n)++;
	}
	return 0;
}

/* Empties the list of key k (its default, before the file's own). */
static void
list_clear(struct cfg *c, const struct cfg_key *k)
{
	size_t	*n = (size_t *)(void *)((char *)c + k->n_off);
	char	**words = (char **)(void *)((char *)c + k->off);
	size_t	 i;

	if (k->item != ITEM_RANGE)
		for (i = 0; i < *n; i++)
			free(words[i]);
	*n = 0;
}

/*
 * Checks value against the words of a CFG_CHOICE.  Returns 0, or -1 with
 * "want a, b or c" in err.
 */
static int
choice_valid(const char *const *choices, const char *value, char *err,
    size_t errlen)
{
	size_t	 i, len;

	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], value) == 0)
			return 0;
	len = (size_t)snprintf(err, errlen, "want");
	for (i = 0; choices[i] != NULL && len < errlen; i++)
		len += (size_t)snprintf(err + len, errlen - len, "%s%s",
		    i == 0 ? " " : choices[i + 1] == NULL ? " or " : ", ",
		    choices[i]);
	return -1;
}

/*
 * Checks value for the text-valued key k (the URL loses its trailing
 * slashes).  Returns 0, or -1 with why in err.
 */
static int
text_valid(const struct cfg_key *k, char *value, char *err, size_t errlen)
{
	switch (k->type) {
	case CFG_SERVER_NAME:
		if (!ident_server_name_valid(value)) {
			snprintf(err, errlen, "not a server name "
			    "(host or IP literal, optional :port)");
			return -1;
		}
		return 0;
	case CFG_URL:
		if (!url_valid(value)) {
			snprintf(err, errlen, "not an http:// or https:// URL");
			return -1;
		}
		while (strlen(value) > 0 && value[strlen(value) - 1] == '/')
			value[strlen(value) - 1] = '\0';
		return 0;
	case CFG_KEY_ID:
		if (!ident_key_id_valid(value)) {
			snprintf(err, errlen, "bad key id (want "
			    "ed25519:[a-zA-Z0-9_]+)");
			return -1;
		}
		return 0;
	case CFG_CHOICE:
		return choice_valid(k->choices, value, err, errlen);
	case CFG_LDAP_URL:
		if (!ldap_url_valid(value)) {
			snprintf(err, errlen, "want ldap://, ldaps:// or "
			    "ldapi:// URLs");
			return -1;
		}
		return 0;
	case CFG_LDAP_ATTR:
		return item_valid(ITEM_LDAP_ATTR, value, err, errlen);
	case CFG_STRING:
	case CFG_BOOL:
	case CFG_INT:
	case CFG_RATE:
	case CFG_PUBKEY:
	case CFG_LIST:
		break;
	}
	return 0;
}

/*
 * Sets the key k of c from value (modified in place).  Returns 0, or -1
 * with why in err.
 */
static int
cfg_set(struct cfg *c, const struct cfg_key *k, char *value, char *err,
    size_t errlen)
{
	void	*at = (char *)c + k->off;
	char	**str = at;

	switch (k->type) {
	case CFG_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err, errlen, "want true or false");
			return -1;
		}
		*(int *)at = strcmp(value, "true") == 0;
		return 0;
	case CFG_INT:
		if (parse_int64(value, k->bounds->min, k->bounds->max, at) ==
		    -1) {
			snprintf(err, errlen, "%s", k->bounds->why);
			return -1;
		}
		return 0;
	case CFG_RATE:
		return cfg_set_rate(&c->ratelimit[k->limit], value, err,
		    errlen);
	case CFG_PUBKEY:
		return cfg_set_pubkey(at, (size_t *)(void *)((char *)c +
		    k->n_off), value, err, errlen);
	case CFG_LIST:
		return cfg_set_list(c, k, value, err, errlen);
	case CFG_STRING:
	case CFG_KEY_ID:
	case CFG_SERVER_NAME:
	case CFG_URL:
	case CFG_CHOICE:
	case CFG_LDAP_URL:
	case CFG_LDAP_ATTR:
		break;
	}
	if (text_valid(k, value, err, errlen) == -1)
		return -1;
	free(*str);		/* the default */
	*str = xstrdup(value);
	return 0;
}

/* Sets every key of c (zeroed) to its default. */
static void
cfg_defaults(struct cfg *c)
{
	char	 value[MAX_CFG_LINE + 1], why[256];
	size_t	 i;

	for (i = 0; i < RATELIMIT__MAX; i++)
		c->ratelimit[i].limit = (enum ratelimit_id)i;
	for (i = 0; i < CFG_NKEYS; i++) {
		if (cfg_keys[i].type == CFG_INT)
			*(int64_t *)(void *)((char *)c + cfg_keys[i].off) =
			    cfg_keys[i].bounds->absent;
		if (cfg_keys[i].def == NULL)
			continue;
		snprintf(value, sizeof(value), "%s", cfg_keys[i].def);
		if (cfg_set(c, &cfg_keys[i], value, why, sizeof(why)) == -1)
			abort();	/* t/unit/cfg.c parses every default */
	}
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
 * Splits the line at lineno into its key, found in the table, and value
 * (both inside line).  Returns the key, or NULL: a blank line or comment
 * with err empty, else err says why.
 */
static const struct cfg_key *
cfg_line(const char *name, size_t lineno, char *line, char **value,
    char *err, size_t errlen)
{
	char	*k, *eq;
	size_t	 i;

	*err = '\0';
	k = trim(line);
	if (*k == '\0' || *k == '#')
		return NULL;
	if ((eq = strchr(k, '=')) == NULL) {
		snprintf(err, errlen, "%s:%zu: expected key = value", name,
		    lineno);
		return NULL;
	}
	*eq = '\0';
	k = trim(k);
	*value = trim(eq + 1);
	for (i = 0; i < CFG_NKEYS; i++)
		if (key_is(&cfg_keys[i], k))
			return &cfg_keys[i];
	snprintf(err, errlen, "%s:%zu: unknown key \"%.64s\"", name, lineno,
	    k);
	return NULL;
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
	unsigned char		 seen[CFG_NKEYS] = { 0 };
	char			 line[MAX_CFG_LINE + 1], why[256];
	char			 kname[64];
	char			*v;
	const char		*p = text, *end = text + len, *nl;
	const struct cfg_key	*k;
	size_t			 lineno = 0, n, i;

	cfg_defaults(c);
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
		if ((k = cfg_line(name, lineno, line, &v, err, errlen)) ==
		    NULL) {
			if (*err != '\0')
				return -1;
			continue;
		}
		key_name(k, kname, sizeof(kname));
		if (seen[k - cfg_keys] && !(k->flags & CFG_REPEAT)) {
			snprintf(err, errlen, "%s:%zu: %s is set twice", name,
			    lineno, kname);
			return -1;
		}
		/* A list with a default: the file's first line replaces it. */
		if (!seen[k - cfg_keys] && k->type == CFG_LIST &&
		    k->def != NULL)
			list_clear(c, k);
		seen[k - cfg_keys] = 1;
		if (*v == '\0') {
			snprintf(err, errlen, "%s:%zu: %s has no value", name,
			    lineno, kname);
			return -1;
		}
		if (cfg_set(c, k, v, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%zu: %s: %s", name, lineno,
			    kname, why);
			return -1;
		}
	}
	for (i = 0; i < CFG_NKEYS; i++)
		if ((cfg_keys[i].flags & CFG_REQUIRED) && !seen[i]) {
			snprintf(err, errlen, "%s: %s is required", name,
			    key_name(&cfg_keys[i], kname, sizeof(kname)));
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

/* Frees what c owns, by the table; c is zeroed. */
void
cfg_free(struct cfg *c)
{
	const struct cfg_key	*k;
	char			**str;
	size_t			 i, j, n;

	for (i = 0; i < CFG_NKEYS; i++) {
		k = &cfg_keys[i];
		str = (char **)(void *)((char *)c + k->off);
		switch (k->type) {
		case CFG_STRING:
		case CFG_KEY_ID:
		case CFG_SERVER_NAME:
		case CFG_URL:
		case CFG_CHOICE:
		case CFG_LDAP_URL:
		case CFG_LDAP_ATTR:
			free(*str);
			break;
		case CFG_LIST:
			if (k->item == ITEM_RANGE)
				break;
			n = *(size_t *)(void *)((char *)c + k->n_off);
			for (j = 0; j < n; j++)
				free(str[j]);
			break;
		case CFG_BOOL:
		case CFG_INT:
		case CFG_RATE:
		case CFG_PUBKEY:
			break;
		}
	}
	memset(c, 0, sizeof(*c));
}
