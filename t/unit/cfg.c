/*
 * Unit tests for common/cfg: a good file, and each kind of error naming
 * the file and the line.
 */
#include <string.h>

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
	is_int(c.allow_access_token_query, 1, "?access_token= accepted by "
	    "default: Synapse sends hash_details that way");
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
	return done_testing();
}
