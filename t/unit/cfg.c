/*
 * Unit tests for common/cfg: a good file, each kind of error naming the
 * file and the line, and every key of the table (cfg_key_info): its
 * default, its bounds, given twice; and a file setting every key at once,
 * freed by the table (run under valgrind by make valgrind).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cfg.h"
#include "tap.h"

#define GOOD \
	"# comment\n" \
	"server_name = id.example.org\n" \
	"public_base_url = https://id.example.org/\n" \
	"\n" \
	"database = host=/tmp dbname=sigil\n" \
	"signing_key = /etc/sigil/signing.key\n" \
	"old_key = ed25519:old pyx9wMUkZVUi1a4g0f9i0oSgUs3wwb05Pv4gpcCtuSg\n" \
	"revoked_key = ed25519:bad 2-3ugRDsbBfK4tIj0s_M8MWBfWOlO9M2F1DCYWxqrQ4\n" \
	"enable_v1 = false\n" \
	"invite_v1_clients = 192.0.2.0/24 2001:db8::1\n" \
	"invite_web_client_hosts = chat.example.org app.example.org:8443\n"

#define NO_QUERY_TOKEN GOOD "allow_access_token_query = false\n"

#define LDAP GOOD \
	"ldap_uri = ldaps://dc1.example.org ldaps://dc2.example.org\n" \
	"ldap_mail = mail proxyAddresses\n" \
	"ldap_mail = 0.9.2342.19200300.100.1.3\n" \
	"ldap_localpart = sAMAccountName\n" \
	"ldap_page_size = 0\n"

static void
bad(const char *text, const char *want, const char *name)
{
	struct cfg	 c;
	char		 err[512] = "";
	int		 rc;

	memset(&c, 0, sizeof(c));
	rc = cfg_parse("t.conf", text, strlen(text), &c, err, sizeof(err));
	ok(rc == -1 && strstr(err, want) != NULL, "%s", name);
	if (rc != -1 || strstr(err, want) == NULL)
		diag("got \"%s\", wanted it to contain \"%s\"", err, want);
	cfg_free(&c);
}

/* The bounds and messages of the integer keys, as they have always been. */
static const struct {
	const char	*name;
	long long	 min, max;
	const char	*why;
} bounded[] = {
	{ "token_lifetime", 0, 3153600000LL, "want a whole number of seconds" },
	{ "invite_lifetime", 0, 3153600000LL,
	    "want a whole number of seconds" },
	{ "onbind_retry_max", 0, 3153600000LL,
	    "want a whole number of seconds" },
	{ "http_key_failure_ttl", 0, 3153600000LL,
	    "want a whole number of seconds" },
	{ "slow_request", 0, 3153600000LL, "want a whole number of seconds" },
	{ "max_token_attempts", 1, 1000, "want a whole number from 1 to 1000" },
	{ "invite_redact_local", 1, 1000,
	    "want a whole number from 1 to 1000" },
	{ "invite_redact_domain", 1, 1000,
	    "want a whole number from 1 to 1000" },
	{ "onbind_concurrency", 1, 1000, "want a whole number from 1 to 1000" },
	{ "outbound_concurrency", 1, 1000,
	    "want a whole number from 1 to 1000" },
	{ "health_notify_age", 0, 3153600000LL,
	    "want a whole number of seconds" },
	{ "sms_code_length", 6, 12, "want 6 to 12 digits" },
	{ "lookup_max_addresses", 1, 100000, "want 1 to 100000" },
	{ "http_budget", 1, 12,
	    "want 1 to 12 seconds (the web server gives a request 15)" },
	{ "client_ipv6_prefix", 32, 128, "want a prefix length from 32 to 128" },
	{ "request_timeout", 1, 12,
	    "want 1 to 12 seconds (the web server gives a request 15)" },
	{ "sync_interval", 10, 604800, "want 10 seconds to a week" },
	{ "sync_max_remove_percent", 0, 100,
	    "want a whole number from 0 to 100" },
	{ "ldap_page_size", 0, 100000, "want 0 (no paging) to 100000" },
	{ "ldap_timeout", 1, 3600, "want 1 to 3600 seconds" },
};

/* The defaults, as they have always been; a key not here has none. */
static const struct {
	const char	*name;
	const char	*def;
} defaults[] = {
	{ "enable_v1", "true" },
	{ "allow_access_token_query", "true" },
	{ "smtp_url", "smtp://127.0.0.1:25" },
	{ "smtp_tls", "starttls" },
	{ "default_brand", "default" },
	{ "max_token_attempts", "10" },
	{ "ratelimit_address", "10 3600" },
	{ "ratelimit_requester", "50 3600" },
	{ "client_ipv6_prefix", "64" },
	{ "sms_gateway", "none" },
	{ "sms_code_length", "6" },
	{ "ratelimit_msisdn", "5 3600" },
	{ "ratelimit_country", "50 60" },
	{ "lookup_max_addresses", "10000" },
	{ "lookup_allow_none", "true" },
	{ "ratelimit_lookup_ip", "100000 3600" },
	{ "ratelimit_lookup_user", "100000 3600" },
	{ "invite_lifetime", "2592000" },
	{ "ratelimit_invite_sender", "20 3600" },
	{ "ratelimit_invite_address", "10 3600" },
	{ "ratelimit_invite_client", "100 3600" },
	{ "ratelimit_invite_room", "50 3600" },
	{ "ratelimit_invite_user", "20 3600" },
	{ "invite_redact_local", "3" },
	{ "invite_redact_domain", "3" },
	{ "invite_web_client", "https://app.element.io" },
	{ "internal_api_clients", "127.0.0.1 ::1" },
	{ "invite_subject", "%(sender_display_name)s has invited you to chat" },
	{ "invite_subject_space",
	    "%(sender_display_name)s has invited you to a space" },
	{ "invite_delete_on_delivery", "false" },
	{ "onbind_retry_max", "3600" },
	{ "http_budget", "8" },
	{ "http_key_failure_ttl", "60" },
	{ "onbind_concurrency", "8" },
	{ "health_notify_age", "300" },
	{ "request_timeout", "10" },
	{ "sync_interval", "900" },
	{ "sync_max_remove_percent", "10" },
	{ "sync_user_binds", "allow" },
	{ "sync_sql_query",
	    "SELECT medium, address, user_id FROM user_threepids" },
	{ "ldap_starttls", "false" },
	{ "ldap_filter", "(objectClass=person)" },
	{ "ldap_localpart", "uid" },
	{ "ldap_page_size", "500" },
	{ "ldap_timeout", "30" },
};

/* The default key name has always had, or NULL. */
static const char *
default_of(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (strcmp(defaults[i].name, name) == 0)
			return defaults[i].def;
	return NULL;
}

#define PUB	"pyx9wMUkZVUi1a4g0f9i0oSgUs3wwb05Pv4gpcCtuSg"

/*
 * A good value of each key without a default, and of each repeatable one
 * with where its count is (0: not a list).
 */
static const struct {
	const char	*name;
	const char	*value;
	size_t		 n_off;
} sample[] = {
	{ "server_name", "id.example.org", 0 },
	{ "public_base_url", "https://id.example.org", 0 },
	{ "database", "dbname=sigil", 0 },
	{ "database_replica", "dbname=replica", 0 },
	{ "signing_key", "/etc/sigil/signing.key", 0 },
	{ "signing_key_id", "ed25519:k", 0 },
	{ "terms_file", "/etc/sigil/terms.json", 0 },
	{ "outbound_concurrency", "2", 0 },
	{ "token_lifetime", "60", 0 },
	{ "http_ca_file", "/etc/ssl/ca.pem", 0 },
	{ "smtp_user", "sigil", 0 },
	{ "smtp_password", "secret", 0 },
	{ "smtp_ca_file", "/etc/ssl/ca.pem", 0 },
	{ "mail_from", "sigil@example.org", 0 },
	{ "template_dir", "/usr/share/sigil/templates", 0 },
	{ "sms_url", "https://sms.example.org/send", 0 },
	{ "sms_token", "token", 0 },
	{ "sms_account", "AC1", 0 },
	{ "sms_from", "Sigil", 0 },
	{ "metrics_dir", "/run/sigil", 0 },
	{ "slow_request", "5", 0 },
	{ "sync_sql_conninfo", "dbname=synapse", 0 },
	{ "sync_domains", "example.org",
	    offsetof(struct cfg, n_sync_domains) },
	{ "ldap_uri", "ldaps://ldap.example.org", 0 },
	{ "ldap_ca_file", "/etc/ssl/ca.pem", 0 },
	{ "ldap_bind_dn", "cn=sigil,dc=example,dc=org", 0 },
	{ "ldap_bind_password_file", "/etc/sigil/ldap.password", 0 },
	{ "ldap_base", "ou=people,dc=example,dc=org", 0 },
	{ "ldap_mail", "proxyAddresses",
	    offsetof(struct cfg, n_ldap_mail) },
	{ "old_key", "ed25519:old " PUB, offsetof(struct cfg, n_old_keys) },
	{ "revoked_key", "ed25519:bad " PUB,
	    offsetof(struct cfg, n_revoked_keys) },
	{ "homeserver_allow", "hs.example.org",
	    offsetof(struct cfg, n_homeserver_allow) },
	{ "http_allow", "192.0.2.0/24", offsetof(struct cfg, n_http_allow) },
	{ "next_link_hosts", "app.example.org",
	    offsetof(struct cfg, n_next_link_hosts) },
	{ "sms_allow_regions", "GB",
	    offsetof(struct cfg, n_sms_allow_regions) },
	{ "sms_deny_regions", "FR", offsetof(struct cfg, n_sms_deny_regions) },
	{ "invite_block_homeservers", "spam.example.org",
	    offsetof(struct cfg, n_invite_block_homeservers) },
	{ "invite_block_rooms", "!room:example.org",
	    offsetof(struct cfg, n_invite_block_rooms) },
	{ "invite_block_keywords", "spam",
	    offsetof(struct cfg, n_invite_block_keywords) },
	{ "invite_v1_clients", "192.0.2.1",
	    offsetof(struct cfg, n_invite_v1_clients) },
	{ "invite_web_client_hosts", "chat.example.org",
	    offsetof(struct cfg, n_invite_web_client_hosts) },
	{ "internal_api_clients", "192.0.2.1",
	    offsetof(struct cfg, n_internal_api_clients) },
};

#define NSAMPLE	(sizeof(sample) / sizeof(sample[0]))

/* The sample of key name, or -1. */
static int
sample_of(const char *name)
{
	size_t	 i;

	for (i = 0; i < NSAMPLE; i++)
		if (strcmp(sample[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A good value of key k: its sample, else its default, else NULL. */
static const char *
value_of(const struct cfg_key_info *k)
{
	int	 i = sample_of(k->name);

	return i != -1 ? sample[i].value : k->def;
}

/* Appends the required keys but skip to b; returns how many lines. */
static int
required(struct buf *b, const char *skip)
{
	static const char *const req[] = { "server_name", "public_base_url",
		"database", "signing_key" };
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (strcmp(req[i], skip) != 0) {
			buf_printf(b, "%s = %s\n", req[i],
			    sample[sample_of(req[i])].value);
			n++;
		}
	return n;
}

/*
 * Parses the required keys (but key) then the lines "key = value" of
 * values (NULL-ended) into c.  Returns cfg_parse's answer, err its.
 */
static int
parse_key(struct cfg *c, const char *key, const char *const *values,
    char *err, size_t errlen, int *lines)
{
	struct buf	 b = { 0 };
	int		 rc;

	*lines = required(&b, key);
	for (; *values != NULL; values++)
		buf_printf(&b, "%s = %s\n", key, *values);
	memset(c, 0, sizeof(*c));
	*err = '\0';
	rc = cfg_parse("t.conf", buf_str(&b), strlen(buf_str(&b)), c, err,
	    errlen);
	buf_free(&b);
	return rc;
}

/* An integer key refuses min - 1 and max + 1 with its message. */
static void
check_bounds(const struct cfg_key_info *k)
{
	struct cfg	 c;
	char		 err[512], want[512], lo[32], hi[32];
	const char	*v[2] = { NULL, NULL };
	size_t		 i;
	int		 lines;

	for (i = 0; i < sizeof(bounded) / sizeof(bounded[0]); i++)
		if (strcmp(bounded[i].name, k->name) == 0)
			break;
	if (!ok(i < sizeof(bounded) / sizeof(bounded[0]), "%s: its bounds "
	    "are known", k->name))
		return;
	ok(k->min == bounded[i].min && k->max == bounded[i].max, "%s: from "
	    "%lld to %lld", k->name, bounded[i].min, bounded[i].max);
	snprintf(lo, sizeof(lo), "%lld", bounded[i].min);
	snprintf(hi, sizeof(hi), "%lld", bounded[i].max);
	v[0] = lo;
	ok(parse_key(&c, k->name, v, err, sizeof(err), &lines) == 0,
	    "%s = %s parses %s", k->name, lo, err);
	cfg_free(&c);
	v[0] = hi;
	ok(parse_key(&c, k->name, v, err, sizeof(err), &lines) == 0,
	    "%s = %s parses %s", k->name, hi, err);
	cfg_free(&c);
	snprintf(lo, sizeof(lo), "%lld", bounded[i].min - 1);
	snprintf(hi, sizeof(hi), "%lld", bounded[i].max + 1);
	v[0] = lo;
	parse_key(&c, k->name, v, err, sizeof(err), &lines);
	snprintf(want, sizeof(want), "t.conf:%d: %s: %s", lines + 1, k->name,
	    bounded[i].why);
	is_str(err, want, "%s = %s refused", k->name, lo);
	cfg_free(&c);
	v[0] = hi;
	parse_key(&c, k->name, v, err, sizeof(err), &lines);
	is_str(err, want, "%s = %s refused", k->name, hi);
	cfg_free(&c);
}

/*
 * Key k given twice: a list gets both (and no other list anything), any
 * other key is refused as set twice.
 */
static void
check_twice(const struct cfg_key_info *k)
{
	struct cfg	 c;
	char		 err[512], want[512];
	const char	*v[3];
	size_t		*n;
	int		 i, lines, rc;

	v[0] = v[1] = value_of(k);
	v[2] = NULL;
	if (!ok(v[0] != NULL, "%s has a default or a sample", k->name))
		return;
	rc = parse_key(&c, k->name, v, err, sizeof(err), &lines);
	if (k->repeatable) {
		i = sample_of(k->name);
		n = (size_t *)(void *)((char *)&c + sample[i].n_off);
		ok(rc == 0 && sample[i].n_off != 0 && *n == 2, "%s twice: "
		    "two items %s", k->name, err);
		ok(strcmp(k->name, "homeserver_allow") == 0 ||
		    c.n_homeserver_allow == 0, "%s: nothing in "
		    "homeserver_allow", k->name);
	} else {
		snprintf(want, sizeof(want), "t.conf:%d: %s is set twice",
		    lines + 2, k->name);
		is_str(err, want, "%s twice is refused", k->name);
	}
	cfg_free(&c);
}

/* Every key of the table, one by one. */
static void
check_table(void)
{
	struct cfg_key_info	 k;
	struct cfg		 c;
	char			 err[512];
	const char		*v[2] = { NULL, NULL };
	size_t			 i, nbounded = 0, ndef = 0;
	int			 lines;

	for (i = 0; cfg_key_info(i, &k) == 0; i++) {
		ok(k.def == default_of(k.name) || (k.def != NULL &&
		    default_of(k.name) != NULL && strcmp(k.def,
		    default_of(k.name)) == 0), "%s: default %s", k.name,
		    k.def == NULL ? "none" : k.def);
		if (k.def != NULL) {
			ndef++;
			v[0] = k.def;
			ok(parse_key(&c, k.name, v, err, sizeof(err),
			    &lines) == 0, "%s = %s (its default) parses %s",
			    k.name, k.def, err);
			cfg_free(&c);
		}
		if (k.bounded) {
			nbounded++;
			check_bounds(&k);
		}
		check_twice(&k);
	}
	is_int((long long)i, 86, "86 keys");
	is_int((long long)ndef, (long long)(sizeof(defaults) /
	    sizeof(defaults[0])), "every default is there");
	is_int((long long)nbounded, (long long)(sizeof(bounded) /
	    sizeof(bounded[0])), "every integer key is bounded");
}

/* Each limit is its own key, ratelimit_<name>, and knows which it is. */
static void
check_limits(void)
{
	struct cfg	 c;
	char		 err[512], key[64];
	const char	*v[2] = { "7 60", NULL };
	size_t		 i;
	int		 lines;

	for (i = 0; i < RATELIMIT__MAX; i++) {
		snprintf(key, sizeof(key), "ratelimit_%s", ratelimit_name[i]);
		ok(parse_key(&c, key, v, err, sizeof(err), &lines) == 0 &&
		    c.ratelimit[i].count == 7 && c.ratelimit[i].seconds == 60 &&
		    c.ratelimit[i].limit == (enum ratelimit_id)i &&
		    c.ratelimit[(i + 1) % RATELIMIT__MAX].count != 7,
		    "%s = 7 60 sets its limit alone %s", key, err);
		cfg_free(&c);
	}
}

/* One file setting every key, repeatable ones twice: freed by the table. */
static void
check_all(void)
{
	struct cfg_key_info	 k;
	struct cfg		 c;
	struct buf		 b = { 0 };
	char			 err[512] = "";
	size_t			 i;

	for (i = 0; cfg_key_info(i, &k) == 0; i++) {
		if (value_of(&k) == NULL)
			continue;
		buf_printf(&b, "%s = %s\n", k.name, value_of(&k));
		if (k.repeatable)
			buf_printf(&b, "%s = %s\n", k.name, value_of(&k));
	}
	memset(&c, 0, sizeof(c));
	ok(cfg_parse("t.conf", buf_str(&b), strlen(buf_str(&b)), &c, err,
	    sizeof(err)) == 0, "every key at once parses %s", err);
	is_int((long long)c.n_invite_block_keywords, 2, "lists of two");
	cfg_free(&c);
	ok(c.server_name == NULL && c.n_old_keys == 0, "freed and zeroed");
	buf_free(&b);
}

/* A list with a default: the file's lines replace it, they do not add. */
static void
check_list_default(void)
{
	static const char text[] = GOOD
	    "internal_api_clients = 192.0.2.7\n"
	    "internal_api_clients = 2001:db8::/64\n";
	static const unsigned char want[16] = { [10] = 0xff, [11] = 0xff,
		192, 0, 2, 7 };
	struct cfg	 c;
	char		 err[512] = "";

	memset(&c, 0, sizeof(c));
	ok(cfg_parse("t.conf", text, strlen(text), &c, err, sizeof(err)) == 0,
	    "internal_api_clients set twice parses %s", err);
	is_int((long long)c.n_internal_api_clients, 2,
	    "internal_api_clients: the file's two, without loopback");
	ok(memcmp(c.internal_api_clients[0].addr, want, 16) == 0 &&
	    c.internal_api_clients[0].prefix == 128,
	    "internal_api_clients: the first is the file's first");
	cfg_free(&c);
}

int
main(void)
{
	struct cfg	 c;
	char		 err[512] = "";

	memset(&c, 0, sizeof(c));
	ok(cfg_parse("t.conf", GOOD, strlen(GOOD), &c, err, sizeof(err)) == 0,
	    "a good file parses %s", err);
	is_str(c.server_name, "id.example.org", "server_name");
	is_str(c.public_base_url, "https://id.example.org",
	    "public_base_url without the trailing slash");
	is_str(c.database, "host=/tmp dbname=sigil", "database keeps spaces");
	is_int(c.enable_v1, 0, "enable_v1 = false");
	is_int((long long)c.n_old_keys, 1, "one old key");
	is_int((long long)c.n_revoked_keys, 1, "one revoked key");
	is_str(c.revoked_keys[0].public_b64,
	    "2+3ugRDsbBfK4tIj0s/M8MWBfWOlO9M2F1DCYWxqrQ4",
	    "a URL-safe key is stored in the standard alphabet");
	ok(c.signing_key_id == NULL, "signing_key_id defaults to the file's");
	is_int((long long)c.n_invite_v1_clients, 2, "two v1 invite clients");
	is_int((long long)c.n_internal_api_clients, 2,
	    "internal_api_clients: loopback by default");
	check_list_default();
	is_int((long long)c.n_invite_web_client_hosts, 2,
	    "two web client hosts");
	is_str(c.invite_web_client_hosts[1], "app.example.org:8443",
	    "a web client host with a port");
	is_int(c.invite_delete_on_delivery, 0, "invites are kept on delivery "
	    "by default: the mailed link still signs");
	is_int(c.ratelimit[RATELIMIT_INVITE_ADDRESS].count,
	    10, "10 invites an hour to "
	    "an address by default");
	is_int(c.ratelimit[RATELIMIT_INVITE_CLIENT].count,
	    100, "100 from a client");
	is_int(c.ratelimit[RATELIMIT_INVITE_ROOM].count,
	    50, "50 into a room");
	is_int(c.ratelimit[RATELIMIT_INVITE_USER].count,
	    20, "20 by a v2 user");
	is_int(c.slow_request, -1, "no slow-request log by default");
	is_int(c.request_timeout, 10, "a request's input has 10 s by "
	    "default, under the web server's 15");
	is_int(c.token_lifetime, 0, "tokens never expire by default");
	is_int(c.allow_access_token_query, 1, "?access_token= accepted by "
	    "default: Synapse sends hash_details that way");
	cfg_free(&c);

	memset(&c, 0, sizeof(c));
	ok(cfg_parse("t.conf", LDAP, strlen(LDAP), &c, err, sizeof(err)) == 0,
	    "the LDAP keys parse %s", err);
	is_str(c.ldap_uri, "ldaps://dc1.example.org ldaps://dc2.example.org",
	    "two URIs, tried in turn");
	is_int((long long)c.n_ldap_mail, 3, "three address attributes");
	is_str(c.ldap_mail[2], "0.9.2342.19200300.100.1.3", "one by its OID");
	is_str(c.ldap_localpart, "sAMAccountName", "the localpart's");
	is_int(c.ldap_page_size, 0, "paging off");
	cfg_free(&c);

	memset(&c, 0, sizeof(c));
	ok(cfg_parse("t.conf", NO_QUERY_TOKEN, strlen(NO_QUERY_TOKEN), &c,
	    err, sizeof(err)) == 0, "allow_access_token_query = false parses %s",
	    err);
	is_int(c.allow_access_token_query, 0, "allow_access_token_query = "
	    "false refuses it");
	cfg_free(&c);

	bad("invite_v1_clients = 192.0.2.0/33\n", "t.conf:1: "
	    "invite_v1_clients: \"192.0.2.0/33\" is not an address",
	    "a bad v1 invite client range");
	bad("invite_web_client_hosts = https://x\n", "t.conf:1: "
	    "invite_web_client_hosts: \"https://x\" is not a server name",
	    "a web client host that is a URL");
	bad("ratelimit_invite_room = 5\n", "t.conf:1: ratelimit_invite_room: "
	    "want", "a rate without seconds");
	bad("ldap_uri = https://ldap.example.org\n", "t.conf:1: ldap_uri: "
	    "want ldap://, ldaps:// or ldapi:// URLs", "an LDAP URI of "
	    "another scheme");
	bad("ldap_uri = ldap://a ftp://b\n", "t.conf:1: ldap_uri: want",
	    "a second URI of another scheme");
	bad("ldap_mail = mail proxy_addresses\n", "t.conf:1: ldap_mail: "
	    "\"proxy_addresses\" is not an attribute name or OID",
	    "an attribute name with '_'");
	bad("ldap_mail = 1.2.03\n", "t.conf:1: ldap_mail: \"1.2.03\" is "
	    "not", "an OID with a leading zero");
	bad("ldap_localpart = (uid)\n", "t.conf:1: ldap_localpart: "
	    "\"(uid)\" is not an attribute name or OID",
	    "a localpart attribute that is a filter");

	bad("server_name = a\nbogus = 1\n", "t.conf:2: unknown key",
	    "an unknown key names file and line");
	bad("server_name = a\nserver_name = b\n", "t.conf:2: server_name is "
	    "set twice", "a repeated key");
	bad("server_name\n", "t.conf:1: expected key = value",
	    "a line without =");
	bad("server_name =\n", "t.conf:1: server_name has no value",
	    "an empty value");
	bad("\n\nserver_name = bad_name!\n", "t.conf:3: server_name: not a "
	    "server name", "a bad server name");
	bad("server_name = a:0\n", "t.conf:1", "port 0");
	bad("server_name = a:080\n", "t.conf:1", "a port with a leading zero");
	bad("server_name = a:65536\n", "t.conf:1", "a port over 65535");
	bad("server_name = [::1\n", "t.conf:1", "an unclosed IPv6 literal");
	bad("public_base_url = ftp://x\n", "t.conf:1: public_base_url: not an "
	    "http", "a URL that is not http(s)");
	bad("enable_v1 = yes\n", "t.conf:1: enable_v1: want true or false",
	    "a bad boolean");
	bad("old_key = ed25519:x\n", "t.conf:1: old_key: want",
	    "a key line without the key");
	bad("old_key = ed25519:x Zm9v\n", "not 32 bytes",
	    "a public key of the wrong size");
	bad("old_key = rsa:x pyx9wMUkZVUi1a4g0f9i0oSgUs3wwb05Pv4gpcCtuSg\n",
	    "bad key id", "a key id of another algorithm");
	bad("signing_key_id = ed25519:a-b\n", "t.conf:1: signing_key_id: bad "
	    "key id", "a bad signing_key_id");
	bad("server_name = a\n", "t.conf: public_base_url is required",
	    "a missing required key");
	bad("server_name = a\001\n", "t.conf:1", "a control character");
	bad("smtp_tls = tls\n", "t.conf:1: smtp_tls: want starttls, "
	    "opportunistic or off", "a TLS mode not among the choices");
	bad("sms_gateway = sms\n", "t.conf:1: sms_gateway: want none, webhook "
	    "or twilio", "a gateway not among the choices");
	bad("sms_allow_regions = GB fr\n", "t.conf:1: sms_allow_regions: "
	    "\"fr\" is not an ISO 3166 alpha-2 code like GB",
	    "a region in lower case");
	bad("invite_block_keywords = \xff\n", "t.conf:1: "
	    "invite_block_keywords: \"\xff\" is not UTF-8",
	    "a keyword that is not UTF-8");
	bad("ratelimit_country = 5 0\n", "t.conf:1: ratelimit_country: want "
	    "\"<count> <seconds>\", or 0 for no limit", "a rate of 0 seconds");
	bad("ratelimit_other = 5 60\n", "t.conf:1: unknown key "
	    "\"ratelimit_other\"", "a limit that does not exist");

	check_table();
	check_limits();
	check_all();
	return done_testing();
}
