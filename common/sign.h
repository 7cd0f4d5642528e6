/*
 * Ed25519 keys and signed JSON (Matrix spec appendix "Signing JSON").
 * The only module that touches OpenSSL's signing API.
 */
#ifndef SIGIL_SIGN_H
#define SIGIL_SIGN_H

#include <stddef.h>

#include "b64.h"
#include "bounds.h"

struct cJSON;
struct evp_pkey_st;

#define ED25519_SEED_LEN	32
#define ED25519_PUBLIC_LEN	32
#define ED25519_SIG_LEN		64

struct sign_key {
	char			 id[MAX_KEY_ID + 1];	/* "ed25519:<id>" */
	char			 public_b64[MAX_PUBLIC_KEY_B64]; /* unpadded */
	struct evp_pkey_st	*pkey;			/* owned */
};

int	 sign_key_load(const char *, const char *, struct sign_key **,
	    char *, size_t);
int	 sign_key_from_seed(const unsigned char *, const char *,
	    struct sign_key **);
int	 sign_key_generate(const char *, struct sign_key **);
int	 sign_key_seed_b64(const struct sign_key *, enum b64_alphabet,
	    char *, size_t);
void	 sign_key_free(struct sign_key *);
int	 sign_json(const struct sign_key *, const char *, struct cJSON *);
int	 sign_json_add(struct cJSON *, const char *, const char *,
	    const char *);
const char *sign_json_get(const struct cJSON *, const char *, const char *);
int	 sign_verify_json(const struct cJSON *, const char *, const char *,
	    const char *);

#endif /* !SIGIL_SIGN_H */
