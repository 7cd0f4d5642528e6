/*
 * A test helper, not a test: signs the JSON object on standard input with
 * the key file named on the command line, the way every sigil program
 * signs, and prints the signed object.  The HTTP tests check its output
 * with python3-signedjson against the public key the server publishes.
 *
 *   sign-json KEY_FILE SERVER_NAME [KEY_ID] < object.json
 */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "canon.h"
#include "json.h"
#include "sign.h"

int
main(int argc, char *argv[])
{
	struct sign_key	*k = NULL;
	struct buf	 out = { 0 };
	char		 in[65536], err[256];
	size_t		 n;
	cJSON		*o = NULL;
	int		 rc = 1;

	if (argc < 3 || argc > 4) {
		fputs("usage: sign-json KEY_FILE SERVER_NAME [KEY_ID]\n", stderr);
		return 2;
	}
	if (sign_key_load(argv[1], argc == 4 ? argv[3] : NULL, &k, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "sign-json: %s\n", err);
		return 1;
	}
	n = fread(in, 1, sizeof(in), stdin);
	if (json_parse_object(in, n, &o) != JSON_PARSE_OK) {
		fputs("sign-json: input is not a JSON object\n", stderr);
		goto out;
	}
	if (sign_json(k, argv[2], o) == -1 || canon_write(o, &out) == -1) {
		fputs("sign-json: cannot sign\n", stderr);
		goto out;
	}
	puts(buf_str(&out));
	rc = 0;
out:
	cJSON_Delete(o);
	buf_free(&out);
	sign_key_free(k);
	return rc;
}
