/*
 * Unit tests for common/xmatrix: the header grammar the spec allows; and
 * for common/xmkeys: the key cache's expiry, the choice of key in a key
 * document, and the verification of a request another implementation
 * signed, with a fake fetch and clock (no network).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64.h"
#include "buf.h"
#include "sign.h"
#include "tap.h"
#include "xmatrix.h"
#include "xmkeys.h"

/* The spec appendix's signing key (the seed), as key ed25519:1. */
#define SPEC_SEED	"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"

/*
 * A 3pid/unbind that hs.example signed with that key, made once with
 * python3-signedjson 1.1.1 by t/lib/xmatrix-sign.py (Synapse's form:
 * "destination_is" signed, "destination" in the header):
 *   echo '<BODY>' | t/lib/xmatrix-sign.py hs.example SEED_FILE 1 POST \
 *       /_matrix/identity/v2/3pid/unbind id.example
 */
#define PY_URI		"/_matrix/identity/v2/3pid/unbind"
#define PY_AUTH		"X-Matrix origin=\"hs.example\",key=\"ed25519:1\"," \
	"sig=\"7rXM+IgN6QtPzf8y7z/4MwyW0NQp1yuW7yWiRLnE012JJiy1KYreq9n5nNMFW" \
	"tf0cxNy11pl4s9LCQfs7CE/BA\",destination=\"id.example\""
#define PY_BODY		"{\"mxid\":\"@alice:hs.example\",\"threepid\":" \
	"{\"address\":\"alice@example.org\",\"medium\":\"email\"}}"

#define HOUR_MS		(3600LL * 1000)
#define TTL_S		60

/* What the fake homeserver answers for its keys. */
enum doc {
	DOC_GOOD,	/* ed25519:other and ed25519:1, signed by ed25519:1 */
	DOC_OTHER,	/* only ed25519:other, signed by it */
	DOC_FORGED,	/* ed25519:1, but signed by ed25519:other only */
	DOC_DOWN,	/* no answer */
	DOC_BUSY,	/* not asked: every outbound slot taken */
};

static struct sign_key	*spec_key, *other_key;
static enum doc		 doc = DOC_GOOD;
static int64_t		 doc_valid_ms = HOUR_MS;	/* from the fetch */
static int64_t		 t_now = 1700000000000LL;
static int		 fetches;

static int64_t
fake_clock(void)
{
	return t_now;
}

static void
add_key(cJSON *vk, const struct sign_key *k)
{
	cJSON_AddStringToObject(cJSON_AddObjectToObject(vk, k->id), "key",
	    k->public_b64);
}

static enum http_res
fake_fetch(const char *origin, struct http_resp *hr)
{
	cJSON	*d, *vk;
	char	*text;

	fetches++;
	if (doc == DOC_DOWN)
		return HTTP_UNREACHABLE;
	if (doc == DOC_BUSY)
		return HTTP_BUSY;
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "server_name", origin);
	cJSON_AddNumberToObject(d, "valid_until_ts",
	    (double)(t_now + doc_valid_ms));
	vk = cJSON_AddObjectToObject(d, "verify_keys");
	add_key(vk, other_key);
	if (doc != DOC_OTHER)
		add_key(vk, spec_key);
	sign_json(doc == DOC_GOOD ? spec_key : other_key, origin, d);
	text = cJSON_PrintUnformatted(d);
	buf_puts(&hr->body, text);
	hr->status = 200;
	cJSON_free(text);
	cJSON_Delete(d);
	return HTTP_OK;
}

/* Verifies auth over body at PY_URI for id.example; *why as it says. */
static const char *
verify(const char *auth, const char *body, enum xm_fail *why)
{
	static struct xmatrix	 creds[XMATRIX_MAX_CREDENTIALS];
	cJSON			*content = cJSON_Parse(body);
	const char		*origin;

	origin = xmkeys_verify(&(struct xmkeys_req){ .what = "test",
	    .authorization = auth, .method = "POST", .uri = PY_URI,
	    .server_name = "id.example", .content = content,
	    .failure_ttl = TTL_S }, creds, why);
	cJSON_Delete(content);
	return origin;
}

/* Returns the X-Matrix header of hs.example signing body as the spec
 * does ("destination"), with key k (static storage). */
static const char *
spec_signed(const struct sign_key *k, const char *body)
{
	static char	 auth[512];
	cJSON		*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "method", "POST");
	cJSON_AddStringToObject(o, "uri", PY_URI);
	cJSON_AddStringToObject(o, "origin", "hs.example");
	cJSON_AddStringToObject(o, "destination", "id.example");
	cJSON_AddItemToObject(o, "content", cJSON_Parse(body));
	sign_json(k, "hs.example", o);
	snprintf(auth, sizeof(auth), "X-Matrix origin=hs.example,key=\"%s\","
	    "sig=\"%s\"", k->id, sign_json_get(o, "hs.example", k->id));
	cJSON_Delete(o);
	return auth;
}

static void
test_keys(void)
{
	unsigned char	 seed[40];
	size_t		 n;
	enum xm_fail	 why;

	if (b64_decode(SPEC_SEED, strlen(SPEC_SEED), seed, sizeof(seed),
	    &n) == -1 || n != 32 || sign_key_from_seed(seed, "ed25519:1",
	    &spec_key) == -1 || sign_key_generate("ed25519:other",
	    &other_key) == -1) {
		ok(0, "test keys");
		return;
	}
	xmkeys_hooks(fake_fetch, fake_clock);

	/* Verification of what python3-signedjson signed. */
	is_str(verify(PY_AUTH, PY_BODY, &why), "hs.example",
	    "a request python3-signedjson signed verifies");
	is_int(fetches, 1, "after one key fetch");
	is_str(verify(PY_AUTH, "{\"mxid\":\"@bob:hs.example\"}", &why),
	    NULL, "another body does not");
	is_int(why, XM_INVALID, "as invalid");
	is_str(verify(spec_signed(spec_key, PY_BODY), PY_BODY, &why),
	    "hs.example", "the spec's form (\"destination\" signed) verifies");
	is_str(verify(spec_signed(other_key, PY_BODY), PY_BODY, &why),
	    "hs.example", "with the document's other key too");
	is_int(fetches, 1, "both from the cache");
	is_str(verify("X-Matrix origin=hs.example,key=ed25519:1,sig=abc,"
	    "destination=elsewhere.example", PY_BODY, &why), NULL,
	    "another destination is refused");
	is_int(why, XM_DESTINATION, "as such");
	is_str(verify("X-Matrix origin=hs.example,key=ed25519:1", PY_BODY,
	    &why), NULL, "a malformed header is refused");
	is_int(why, XM_INVALID, "as invalid");

	/* The cache's expiry: valid_until_ts, capped at a day. */
	t_now += HOUR_MS - 1;
	verify(PY_AUTH, PY_BODY, &why);
	is_int(fetches, 1, "the key is kept until its valid_until_ts");
	t_now += 2;
	is_str(verify(PY_AUTH, PY_BODY, &why), "hs.example",
	    "and fetched again after it");
	is_int(fetches, 2, "(a second fetch)");
	doc_valid_ms = 10 * 24 * HOUR_MS;
	t_now += HOUR_MS + 1;
	verify(PY_AUTH, PY_BODY, &why);
	is_int(fetches, 3, "a key valid for ten days is fetched");
	t_now += 24 * HOUR_MS - 1;
	verify(PY_AUTH, PY_BODY, &why);
	is_int(fetches, 3, "and kept for a day");
	t_now += 2;
	verify(PY_AUTH, PY_BODY, &why);
	is_int(fetches, 4, "but no longer");
	doc_valid_ms = HOUR_MS;

	/* The choice of key in the document. */
	xmkeys_reset();
	fetches = 0;
	doc = DOC_OTHER;
	is_str(verify(PY_AUTH, PY_BODY, &why), NULL,
	    "a key the (self-signed) document lacks");
	is_int(why, XM_INVALID, "is an invalid credential");
	verify(PY_AUTH, PY_BODY, &why);
	is_int(fetches, 1, "not fetched again within the ttl");
	is_int(why, XM_INVALID, "still invalid");
	t_now += TTL_S * 1000 + 1;
	doc = DOC_GOOD;
	is_str(verify(PY_AUTH, PY_BODY, &why), "hs.example",
	    "after the ttl it is fetched again, and found");
	is_int(fetches, 2, "(a second fetch)");

	xmkeys_reset();
	fetches = 0;
	doc = DOC_FORGED;
	is_str(verify(PY_AUTH, PY_BODY, &why), NULL, "a document with the "
	    "key, not signed by it");
	is_int(why, XM_KEY, "is a failed fetch");
	doc = DOC_DOWN;
	xmkeys_reset();
	is_str(verify(PY_AUTH, PY_BODY, &why), NULL, "so is no answer");
	is_int(why, XM_KEY, "(XM_KEY)");
	is_int(fetches, 2, "after one fetch each");
	doc = DOC_GOOD;
	verify(PY_AUTH, PY_BODY, &why);
	is_int(why, XM_KEY, "within the ttl, no fetch after a failed one");
	is_int(fetches, 2, "(none)");
	t_now += TTL_S * 1000 + 1;
	is_str(verify(PY_AUTH, PY_BODY, &why), "hs.example",
	    "after it, a fetch again");
	is_int(fetches, 3, "(a third fetch)");

	/* A fetch not made (the program's outbound slots all taken) is
	 * no failure of the homeserver's: not remembered. */
	xmkeys_reset();
	fetches = 0;
	doc = DOC_BUSY;
	is_str(verify(PY_AUTH, PY_BODY, &why), NULL, "no slot for the fetch");
	is_int(why, XM_BUSY, "is XM_BUSY (503)");
	doc = DOC_GOOD;
	is_str(verify(PY_AUTH, PY_BODY, &why), "hs.example",
	    "the next request fetches at once: nothing was remembered");
	is_int(fetches, 2, "(a second fetch)");

	xmkeys_hooks(NULL, NULL);
	xmkeys_reset();
	sign_key_free(spec_key);
	sign_key_free(other_key);
}

static void
test_parse(void)
{
	struct xmatrix	 x[XMATRIX_MAX_CREDENTIALS];
	char		 big[1200];

	is_int(xmatrix_parse("X-Matrix origin=\"hs.example\",key=\"ed25519:a\","
	    "sig=\"c2ln\",destination=\"id.example\"", x, 4), 1,
	    "Synapse's form parses");
	is_str(x[0].origin, "hs.example", "origin");
	is_str(x[0].key, "ed25519:a", "key");
	is_str(x[0].sig, "c2ln", "sig");
	is_str(x[0].destination, "id.example", "destination");
	is_int(xmatrix_parse("x-matrix   SIG=c2ln , Key=ed25519:a ,\torigin="
	    "hs.example:8448, future=\"x,y\"", x, 4), 1,
	    "any case, any order, bare values with colons, OWS, unknown "
	    "parameters");
	is_str(x[0].origin, "hs.example:8448", "bare origin with a port");
	is_int(xmatrix_parse("X-Matrix origin=\"h\\\"s\",key=\"k\",sig=\"s\"",
	    x, 4), 1, "backslash escapes in quotes");
	is_str(x[0].origin, "h\"s", "are unescaped");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k1,sig=s1, X-Matrix "
	    "origin=a,key=k2,sig=s2", x, 4), 2, "two credentials in one value");
	is_str(x[1].key, "k2", "the second's key");
	is_int(xmatrix_parse("Bearer abc", x, 4), -1, "another scheme");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k", x, 4), -1,
	    "no sig");
	is_int(xmatrix_parse("X-Matrix origin=\"a,key=k,sig=s", x, 4), -1,
	    "an unterminated quote");
	is_int(xmatrix_parse("X-Matrix origin=a key=k sig=s", x, 4), -1,
	    "no commas");
	is_int(xmatrix_parse("X-Matrix =a,key=k,sig=s", x, 4), -1,
	    "an empty name");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k,sig=", x, 4), -1,
	    "an empty bare value");
	is_int(xmatrix_parse("X-Matrix origin=a\x01,key=k,sig=s", x, 4), -1,
	    "a control character");
	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Matrix key=k,sig=s,origin=", 28);
	big[sizeof(big) - 1] = '\0';
	is_int(xmatrix_parse(big, x, 4), -1, "an origin over its bound is "
	    "refused, not cut");
	is_int(xmatrix_parse("X-Matrix origin=a,key=k,sig=s,X-Matrix origin=b,"
	    "key=k,sig=s", x, 1), -1, "more credentials than room");
}

int
main(void)
{
	test_parse();
	test_keys();
	return done_testing();
}
