/*
 * make bench's data set: bindings as sigil's bind writes them, as COPY
 * text for the bindings table (medium, address, mxid, ts, not_before,
 * not_after, lookup_hash, signature, signed_by).  Each row is what
 * POST 3pid/bind stores for its address: ts = not_before = the bind's
 * time in ms, not_after 100 years on, the lookup hash of "<address>
 * <medium> <pepper>" (URL-safe unpadded base64 of SHA-256, as
 * sigil_lookup_hash() computes it in PostgreSQL), and the signature of
 * the association (common/threepid.c) by the stack's key (common/sign.c,
 * the code bind signs with) with the signing_keys id it is stored under.
 * Not installed.
 *
 *   bench-gen-bindings KEY_FILE KEY_ID SERVER_NAME PEPPER SIGNED_BY N PART PARTS
 *	rows i = 1..N with i % PARTS == PART, a line each, on stdout
 *   bench-gen-bindings KEY_FILE KEY_ID SERVER_NAME PEPPER SIGNED_BY -1 MEDIUM ADDRESS MXID TS
 *	the one row of that binding (the bench checks it against a row
 *	sigil's bind stored)
 *
 * Row i is the same in every run and every part: addresses of many
 * shapes over a few large providers and many small domains, one in
 * twenty a phone number; user IDs on a few homeservers; the bind times
 * spread over nine years, rising with i.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "b64.h"
#include "sign.h"
#include "threepid.h"

static const char *const names[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert",
	"sybil", "trent", "victor", "walter", "zoe", "jo", "maximilian",
	"anne-marie", "li", "oluwaseun", "siobhan",
};
static const char *const providers[] = {
	"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "proton.me",
	"icloud.com", "gmx.de", "web.de", "orange.fr", "mail.ru",
};
static const char *const tlds[] = { "com", "org", "net", "de" };
static const char *const homeservers[] = {
	"matrix.org", "matrix.org", "matrix.org", "mozilla.org", "kde.org",
	"gnome.org", "tchncs.de", "envs.net",
};
static const char *const seps[] = { ".", "_", "" };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define START_MS	1483228800000LL		/* 2017-01-01 */
#define SPAN_MS		(9LL * 365 * 24 * 3600 * 1000)

/* splitmix64: the n-th number of row i's own sequence. */
static uint64_t
mix(uint64_t i, uint64_t n)
{
	uint64_t	z = i * 0x9e3779b97f4a7c15ULL + n * 0xbf58476d1ce4e5b9ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Row i's medium, address and user ID, into the buffers given. */
static void
threepid_of(uint64_t i, const char **medium, char *address, size_t alen,
    char *mxid, size_t mlen)
{
	char	local[96], *p;
	char	dom[64];

	snprintf(local, sizeof(local), "%s%s%s%" PRIu64,
	    names[mix(i, 1) % NELEM(names)], seps[mix(i, 0) % NELEM(seps)],
	    names[mix(i, 2) % NELEM(names)], i);
	if (i % 20 == 0) {
		*medium = "msisdn";
		snprintf(address, alen, "44%010" PRIu64, (uint64_t)7000000000 + i);
	} else {
		*medium = "email";
		if (mix(i, 3) % 10 < 6)
			snprintf(dom, sizeof(dom), "%s",
			    providers[mix(i, 4) % NELEM(providers)]);
		else
			snprintf(dom, sizeof(dom), "corp%" PRIu64 ".example.%s",
			    mix(i, 4) % 50000, tlds[mix(i, 5) % NELEM(tlds)]);
		snprintf(address, alen, "%s@%s", local, dom);
	}
	for (p = local; *p != '\0'; p++)
		if (*p == '-')
			*p = '.';
	snprintf(mxid, mlen, "@%s:%s", local,
	    homeservers[mix(i, 6) % NELEM(homeservers)]);
}

/* The lookup hash of address under pepper, into out (44 bytes). */
static int
lookup_hash(const char *address, const char *medium, const char *pepper,
    char *out, size_t outlen)
{
	unsigned char	md[32];
	char		in[1024];
	unsigned int	mdlen = 0;
	int		n;

	n = snprintf(in, sizeof(in), "%s %s %s", address, medium, pepper);
	if (n < 0 || (size_t)n >= sizeof(in) ||
	    EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	return b64_encode(md, mdlen, B64_URLSAFE, out, outlen) == 0 ? -1 : 0;
}

/* Writes the row of one binding to stdout.  Returns 0, or -1. */
static int
row(const struct sign_key *k, const char *server, const char *pepper,
    const char *signed_by, const char *medium, const char *address,
    const char *mxid, int64_t ts)
{
	cJSON		*assoc;
	const char	*sig;
	char		 hash[64];
	int		 rc = -1;

	assoc = threepid_association(medium, address, mxid, ts, ts,
	    (int64_t)(ts + THREEPID_VALIDITY_MS));
	if (assoc == NULL || sign_json(k, server, assoc) == -1 ||
	    (sig = sign_json_get(assoc, server, k->id)) == NULL ||
	    lookup_hash(address, medium, pepper, hash, sizeof(hash)) == -1)
		goto out;
	printf("%s\t%s\t%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\t%s\t%s\n",
	    medium, address, mxid, ts, ts, (int64_t)(ts + THREEPID_VALIDITY_MS),
	    hash,
	    sig, signed_by);
	rc = 0;
out:
	cJSON_Delete(assoc);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct sign_key	*k = NULL;
	const char	*medium;
	char		 err[256], address[256], mxid[256];
	uint64_t	 i, n, part, parts;

	if (argc != 9 && !(argc == 11 && strcmp(argv[6], "-1") == 0)) {
		fputs("usage: bench-gen-bindings KEY_FILE KEY_ID SERVER_NAME "
		    "PEPPER SIGNED_BY (N PART PARTS | -1 MEDIUM ADDRESS MXID "
		    "TS)\n", stderr);
		return 2;
	}
	if (sign_key_load(argv[1], argv[2], &k, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench-gen-bindings: %s\n", err);
		return 1;
	}
	if (argc == 11)
		return row(k, argv[3], argv[4], argv[5], argv[7], argv[8],
		    argv[9], strtoll(argv[10], NULL, 10)) == 0 ? 0 : 1;
	n = strtoull(argv[6], NULL, 10);
	part = strtoull(argv[7], NULL, 10);
	parts = strtoull(argv[8], NULL, 10);
	if (parts == 0 || part >= parts)
		return 2;
	for (i = 1; i <= n; i++) {
		if (i % parts != part)
			continue;
		threepid_of(i, &medium, address, sizeof(address), mxid,
		    sizeof(mxid));
		if (row(k, argv[3], argv[4], argv[5], medium, address, mxid,
		    START_MS + (int64_t)(SPAN_MS * i / n)) == -1) {
			fprintf(stderr, "bench-gen-bindings: row %" PRIu64
			    " failed\n", i);
			return 1;
		}
	}
	sign_key_free(k);
	return fflush(stdout) == 0 ? 0 : 1;
}
