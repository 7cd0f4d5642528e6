/*
 * Signing keys and signed JSON.  A key file is either PEM (as written by
 * "openssl genpkey -algorithm ed25519") or sydent's one-line format
 * "ed25519 <version> <unpadded base64 seed>".  PureEdDSA is one-shot in
 * OpenSSL: EVP_DigestSignInit with a NULL digest, then EVP_DigestSign.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "b64.h"
#include "buf.h"
#include "canon.h"
#include "sign.h"
#include "ident.h"
#include "part.h"
#include "secret.h"
#include "util.h"

/* A key file's mode bits that make it refused: any access by others,
 * or a group that may change it (a group may read: root:sigil 0640). */
#define KEY_MODE_REFUSED	(S_IWGRP | S_IRWXO)

PART_LINKED(PART_KEY)

static struct sign_key *
sign_key_wrap(EVP_PKEY *pkey, const char *id)
{
	struct sign_key	*k;
	unsigned char	 pub[ED25519_PUBLIC_LEN];
	size_t		 publen = sizeof(pub);

	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 ||
	    publen != sizeof(pub))
		return NULL;
	k = xcalloc(1, sizeof(*k));
	snprintf(k->id, sizeof(k->id), "%s", id);
	b64_encode(pub, publen, B64_STANDARD, k->public_b64,
	    sizeof(k->public_b64));
	k->pkey = pkey;
	return k;
}

/*
 * Makes a key from a 32-byte seed, under the key id id.  Returns 0 and a
 * key in *out that the caller frees with sign_key_free(), or -1.
 */
int
sign_key_from_seed(const unsigned char *seed, const char *id,
    struct sign_key **out)
{
	EVP_PKEY	*pkey;
	struct sign_key	*k;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    ED25519_SEED_LEN);
	if (pkey == NULL)
		return -1;
	if ((k = sign_key_wrap(pkey, id)) == NULL) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	*out = k;
	return 0;
}

/* Makes a fresh random key under id.  Returns 0 and *out, or -1. */
int
sign_key_generate(const char *id, struct sign_key **out)
{
	unsigned char	 seed[ED25519_SEED_LEN];
	int		 rc;

	if (random_bytes(seed, sizeof(seed)) == -1)
		return -1;
	rc = sign_key_from_seed(seed, id, out);
	secure_wipe(seed, sizeof(seed));
	return rc;
}

/*
 * Writes the key's seed as unpadded base64 of alphabet into out (outsz
 * bytes with the NUL).  Returns 0 or -1.  The caller wipes out after use.
 */
int
sign_key_seed_b64(const struct sign_key *k, enum b64_alphabet alphabet,
    char *out, size_t outsz)
{
	unsigned char	 seed[ED25519_SEED_LEN];
	size_t		 len = sizeof(seed);
	int		 rc = -1;

	if (EVP_PKEY_get_raw_private_key(k->pkey, seed, &len) == 1 &&
	    len == sizeof(seed) &&
	    b64_encode(seed, len, alphabet, out, outsz) > 0)
		rc = 0;
	secure_wipe(seed, sizeof(seed));
	return rc;
}

/* Frees k and its key material; NULL is allowed. */
void
sign_key_free(struct sign_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* Parses sydent's "ed25519 <version> <seed>" line. */
static int
sign_key_parse_sydent(char *line, const char *id, struct sign_key **out,
    char *err, size_t errlen)
{
	unsigned char	 seed[ED25519_SEED_LEN + 3];
	char		 keyid[MAX_KEY_ID + 1];
	char		*alg, *version, *b64, *extra, *save = NULL;
	size_t		 seedlen;
	int		 rc;

	alg = strtok_r(line, " \t\r\n", &save);
	version = strtok_r(NULL, " \t\r\n", &save);
	b64 = strtok_r(NULL, " \t\r\n", &save);
	extra = strtok_r(NULL, " \t\r\n", &save);
	if (alg == NULL || strcmp(alg, "ed25519") != 0 || version == NULL ||
	    b64 == NULL || extra != NULL) {
		snprintf(err, errlen, "not a PEM key and not a sydent key line "
		    "\"ed25519 <version> <seed>\"");
		return -1;
	}
	if (b64_decode(b64, strlen(b64), seed, sizeof(seed), &seedlen) == -1 ||
	    seedlen != ED25519_SEED_LEN) {
		snprintf(err, errlen, "the seed is not 32 bytes of base64");
		return -1;
	}
	if (id == NULL) {
		snprintf(keyid, sizeof(keyid), "ed25519:%s", version);
		id = keyid;
	}
	if (!ident_key_id_valid(id)) {
		snprintf(err, errlen, "bad key id (want ed25519:[a-zA-Z0-9_]+)");
		secure_wipe(seed, sizeof(seed));
		return -1;
	}
	rc = sign_key_from_seed(seed, id, out);
	secure_wipe(seed, sizeof(seed));
	if (rc == -1)
		snprintf(err, errlen, "OpenSSL refused the seed");
	return rc;
}

/*
 * Loads the private key in the file at path.  id is the key id to use, or
 * NULL for the one a sydent file names ("ed25519:<version>"; PEM files
 * then get "ed25519:0").  A file others may read or anyone but its owner
 * may change (KEY_MODE_REFUSED) is refused: a private key anyone on the
 * host can read is no longer private, and the sooner that is said the
 * better.  Returns 0 and *out (caller frees), or -1 with a reason in err.
 */
int
sign_key_load(const char *path, const char *id, struct sign_key **out,
    char *err, size_t errlen)
{
	FILE		*f;
	EVP_PKEY	*pkey;
	struct sign_key	*k;
	struct stat	 st;
	char		 line[512];
	int		 rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || (st.st_mode & KEY_MODE_REFUSED)) {
		snprintf(err, errlen, "%s: other users can read or change it "
		    "(mode %03o): chmod 600, or 640 with a group of the "
		    "workers' own", path, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (id != NULL && !ident_key_id_valid(id)) {
		snprintf(err, errlen, "bad key id (want ed25519:[a-zA-Z0-9_]+)");
		goto out;
	}
	if ((pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) != NULL) {
		if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
			snprintf(err, errlen, "%s: not an Ed25519 key", path);
			EVP_PKEY_free(pkey);
			goto out;
		}
		if ((k = sign_key_wrap(pkey, id == NULL ? "ed25519:0" : id)) ==
		    NULL) {
			snprintf(err, errlen, "%s: unusable key", path);
			EVP_PKEY_free(pkey);
			goto out;
		}
		*out = k;
		rc = 0;
		goto out;
	}
	rewind(f);
	if (fgets(line, sizeof(line), f) == NULL) {
		snprintf(err, errlen, "%s: empty key file", path);
		goto out;
	}
	rc = sign_key_parse_sydent(line, id, out, err, errlen);
	secure_wipe(line, sizeof(line));
out:
	fclose(f);
	return rc;
}

/* Signs len bytes at msg; sig receives 64 bytes.  Returns 0 or -1. */
static int
ed25519_sign(EVP_PKEY *pkey, const void *msg, size_t len, unsigned char *sig)
{
	EVP_MD_CTX	*ctx;
	size_t		 siglen = ED25519_SIG_LEN;
	int		 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
	    siglen == ED25519_SIG_LEN)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * Adds the signature sigb64 by key_id of server_name to obj, at
 * obj.signatures[server_name][key_id], keeping any other signatures
 * already there.  Returns 0, or -1 leaving obj as it was when obj's
 * signatures are not objects.
 */
int
sign_json_add(cJSON *obj, const char *server_name, const char *key_id,
    const char *sigb64)
{
	cJSON	*sigs, *mine;

	if (!cJSON_IsObject(obj))
		return -1;
	sigs = cJSON_GetObjectItemCaseSensitive(obj, "signatures");
	if (sigs != NULL && !cJSON_IsObject(sigs))
		return -1;
	mine = sigs == NULL ? NULL :
	    cJSON_GetObjectItemCaseSensitive(sigs, server_name);
	if (mine != NULL && !cJSON_IsObject(mine))
		return -1;
	if (sigs == NULL)
		sigs = cJSON_AddObjectToObject(obj, "signatures");
	if (mine == NULL)
		mine = cJSON_AddObjectToObject(sigs, server_name);
	if (sigs == NULL || mine == NULL)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(mine, key_id);
	return cJSON_AddStringToObject(mine, key_id, sigb64) == NULL ? -1 : 0;
}

/* The signature obj carries by key_id of server_name, or NULL. */
const char *
sign_json_get(const cJSON *obj, const char *server_name, const char *key_id)
{
	const cJSON	*s;

	s = cJSON_GetObjectItemCaseSensitive(obj, "signatures");
	s = cJSON_GetObjectItemCaseSensitive(s, server_name);
	s = cJSON_GetObjectItemCaseSensitive(s, key_id);
	return cJSON_IsString(s) ? s->valuestring : NULL;
}

/*
 * Signs the object obj in place: the canonical JSON of obj without
 * "signatures" and "unsigned" is signed with k, and the signature is added
 * at obj.signatures[server_name][k->id], keeping any signatures already
 * there.  Returns 0, or -1 leaving obj as it was.
 */
int
sign_json(const struct sign_key *k, const char *server_name, cJSON *obj)
{
	struct buf	 canon = { 0 };
	unsigned char	 sig[ED25519_SIG_LEN];
	char		 sigb64[128];
	int		 rc = -1;

	if (!cJSON_IsObject(obj))
		return -1;
	if (canon_write_except(obj, &canon, "signatures", "unsigned") == -1 ||
	    ed25519_sign(k->pkey, canon.data, canon.len, sig) == -1)
		goto out;
	b64_encode(sig, sizeof(sig), B64_STANDARD, sigb64, sizeof(sigb64));
	rc = sign_json_add(obj, server_name, k->id, sigb64);
out:
	buf_free(&canon);
	return rc;
}

/*
 * Checks that obj carries a valid signature by server_name under key_id,
 * made by the Ed25519 public key whose base64 (either alphabet) is
 * public_b64.  Returns 0 when it does, -1 otherwise.
 */
int
sign_verify_json(const cJSON *obj, const char *server_name,
    const char *key_id, const char *public_b64)
{
	const cJSON	*sigs, *mine, *s;
	struct buf	 canon = { 0 };
	unsigned char	 pub[ED25519_PUBLIC_LEN + 3], sig[ED25519_SIG_LEN + 3];
	size_t		 publen, siglen;
	EVP_PKEY	*pkey = NULL;
	EVP_MD_CTX	*ctx = NULL;
	int		 rc = -1;

	if ((sigs = cJSON_GetObjectItemCaseSensitive(obj, "signatures")) ==
	    NULL ||
	    (mine = cJSON_GetObjectItemCaseSensitive(sigs, server_name)) ==
	    NULL ||
	    (s = cJSON_GetObjectItemCaseSensitive(mine, key_id)) == NULL ||
	    !cJSON_IsString(s))
		return -1;
	if (b64_decode(public_b64, strlen(public_b64), pub, sizeof(pub),
	    &publen) == -1 || publen != ED25519_PUBLIC_LEN ||
	    b64_decode(s->valuestring, strlen(s->valuestring), sig,
	    sizeof(sig), &siglen) == -1 || siglen != ED25519_SIG_LEN)
		return -1;
	if (canon_write_except(obj, &canon, "signatures", "unsigned") == -1)
		goto out;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen);
	if (pkey == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, (unsigned char *)canon.data,
	    canon.len) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	buf_free(&canon);
	return rc;
}
