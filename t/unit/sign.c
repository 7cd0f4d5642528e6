/*
 * Unit tests for common/sign: the spec appendix's signing test vectors,
 * byte for byte; verification and its failures; both key file formats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "b64.h"
#include "buf.h"
#include "canon.h"
#include "ident.h"
#include "sign.h"
#include "tap.h"

#define SPEC_SEED	"YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
#define SIG_EMPTY	"K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7" \
			"Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
#define SIG_ONE_TWO	"KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN" \
			"6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"

static struct sign_key *
spec_key(void)
{
	unsigned char	 seed[40];
	size_t		 n;
	struct sign_key	*k = NULL;

	if (b64_decode(SPEC_SEED, strlen(SPEC_SEED), seed, sizeof(seed),
	    &n) == -1 || n != 32 || sign_key_from_seed(seed, "ed25519:1", &k))
		return NULL;
	return k;
}

static const char *
signed_canon(struct sign_key *k, const char *in, struct buf *out)
{
	cJSON	*o = cJSON_Parse(in);

	buf_reset(out);
	if (o == NULL || sign_json(k, "domain", o) == -1 ||
	    canon_write(o, out) == -1) {
		cJSON_Delete(o);
		return "(failed)";
	}
	cJSON_Delete(o);
	return buf_str(out);
}

static char *
write_file(const char *text)
{
	static char	 path[64];
	FILE		*f;

	snprintf(path, sizeof(path), "/tmp/sigil-sign-t.XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

int
main(void)
{
	struct sign_key	*k, *k2 = NULL;
	struct buf	 out = { 0 };
	cJSON		*o;
	char		 err[256], seed[64], *path, line[128];

	if ((k = spec_key()) == NULL) {
		ok(0, "the spec's seed makes a key");
		return done_testing();
	}
	is_str(k->id, "ed25519:1", "key id kept");
	is_str(signed_canon(k, "{}", &out),
	    "{\"signatures\":{\"domain\":{\"ed25519:1\":\"" SIG_EMPTY "\"}}}",
	    "spec vector: {} signs byte for byte");
	is_str(signed_canon(k, "{\"one\": 1, \"two\": \"Two\"}", &out),
	    "{\"one\":1,\"signatures\":{\"domain\":{\"ed25519:1\":\""
	    SIG_ONE_TWO "\"}},\"two\":\"Two\"}",
	    "spec vector: {one, two} signs byte for byte");
	is_str(signed_canon(k, "{\"one\": 1, \"two\": \"Two\", "
	    "\"unsigned\": {\"age_ts\": 5}, \"signatures\": {\"other\": "
	    "{\"ed25519:x\": \"abc\"}}}", &out),
	    "{\"one\":1,\"signatures\":{\"domain\":{\"ed25519:1\":\""
	    SIG_ONE_TWO "\"},\"other\":{\"ed25519:x\":\"abc\"}},\"two\":\"Two\","
	    "\"unsigned\":{\"age_ts\":5}}",
	    "unsigned and other signatures are kept and not signed over");
	is_str(signed_canon(k, "{\"a\": 1.5}", &out), "(failed)",
	    "an object with a fraction cannot be signed");

	o = cJSON_Parse("{\"one\": 1, \"two\": \"Two\"}");
	sign_json(k, "domain", o);
	ok(sign_verify_json(o, "domain", "ed25519:1", k->public_b64) == 0,
	    "our signature verifies");
	ok(sign_verify_json(o, "other", "ed25519:1", k->public_b64) == -1,
	    "no signature from another server name");
	ok(sign_verify_json(o, "domain", "ed25519:2", k->public_b64) == -1,
	    "no signature under another key id");
	cJSON_ReplaceItemInObjectCaseSensitive(o, "two",
	    cJSON_CreateString("Three"));
	ok(sign_verify_json(o, "domain", "ed25519:1", k->public_b64) == -1,
	    "a changed value fails verification");
	cJSON_Delete(o);

	/* Key ids. */
	ok(ident_key_id_valid("ed25519:a_B9"), "ed25519:a_B9 is a key id");
	ok(!ident_key_id_valid("ed25519:"), "empty id refused");
	ok(!ident_key_id_valid("rsa:1"), "other algorithms refused");
	ok(!ident_key_id_valid("ed25519:a-b"), "'-' refused in a key id");

	/* A sydent key file keeps its key and its version as the id. */
	ok(sign_key_seed_b64(k, B64_STANDARD, seed, sizeof(seed)) == 0,
	    "seed exported");
	snprintf(line, sizeof(line), "ed25519 0 %s\n", seed);
	path = write_file(line);
	ok(sign_key_load(path, NULL, &k2, err, sizeof(err)) == 0,
	    "sydent key file loads");
	if (k2 != NULL) {
		is_str(k2->id, "ed25519:0", "sydent version 0 gives ed25519:0");
		is_str(k2->public_b64, k->public_b64, "same public key");
		sign_key_free(k2);
		k2 = NULL;
	}
	/* A key others can read is no longer private: refused, saying so;
	 * a group may read it (root:sigil 0640). */
	chmod(path, 0644);
	ok(sign_key_load(path, NULL, &k2, err, sizeof(err)) == -1 &&
	    strstr(err, "other users can read") != NULL,
	    "a world-readable key file is refused: %s", err);
	chmod(path, 0660);
	ok(sign_key_load(path, NULL, &k2, err, sizeof(err)) == -1,
	    "a group-writable one too");
	chmod(path, 0640);
	ok(sign_key_load(path, NULL, &k2, err, sizeof(err)) == 0,
	    "a group-readable one (0640) loads");
	sign_key_free(k2);
	k2 = NULL;
	unlink(path);
	path = write_file("ed25519 0 notbase64!!\n");
	ok(sign_key_load(path, NULL, &k2, err, sizeof(err)) == -1,
	    "a sydent file with a bad seed is refused: %s", err);
	unlink(path);
	path = write_file("-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VwBCIEIGCQwQPV569rFalw/VY+11VJ5hWXGa5cPDHe5DFvt1wN\n"
	    "-----END PRIVATE KEY-----\n");
	ok(sign_key_load(path, "ed25519:pem", &k2, err, sizeof(err)) == 0,
	    "PEM key file loads");
	if (k2 != NULL) {
		is_str(k2->id, "ed25519:pem", "configured id used");
		is_str(k2->public_b64, k->public_b64,
		    "PEM of the spec seed gives the same public key");
		sign_key_free(k2);
		k2 = NULL;
	}
	unlink(path);
	path = write_file("-----BEGIN PRIVATE KEY-----\n"
	    "MC4CAQAwBQYDK2VuBCIEIGCQwQPV569rFalw/VY+11VJ5hWXGa5cPDHe5DFvt1wN\n"
	    "-----END PRIVATE KEY-----\n");
	ok(sign_key_load(path, NULL, &k2, err, sizeof(err)) == -1,
	    "an X25519 PEM key is refused: %s", err);
	unlink(path);
	ok(sign_key_load("/nonexistent/key", NULL, &k2, err, sizeof(err)) ==
	    -1, "a missing file is refused: %s", err);

	sign_key_free(k);
	buf_free(&out);
	return done_testing();
}
