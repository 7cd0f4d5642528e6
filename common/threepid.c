/*
 * Canonical 3PID addresses (spec appendix "3PID Types"): email addresses
 * through email_canonical(); msisdn as E.164 digits without '+' (1 to 15
 * digits, first not 0).  Other media are not ours.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "email.h"
#include "threepid.h"

/*
 * Writes the canonical form of address for medium into out (outsz
 * bytes).  Returns 0, or -1 when the medium is unknown or the address is
 * not one of it.
 */
int
threepid_canonical(const char *medium, const char *address, char *out,
    size_t outsz)
{
	size_t	 n = strlen(address);

	if (strcmp(medium, "email") == 0)
		return email_canonical(address, out, outsz);
	if (strcmp(medium, "msisdn") == 0) {
		if (n < 1 || n > 15 || n >= outsz || address[0] == '0' ||
		    strspn(address, "0123456789") != n)
			return -1;
		memcpy(out, address, n + 1);
		return 0;
	}
	return -1;
}

/*
 * Returns the unsigned association {address, medium, mxid, not_before,
 * not_after, ts} (times in ms), which the caller signs and deletes.
 */
cJSON *
threepid_association(const char *medium, const char *address,
    const char *mxid, int64_t ts, int64_t not_before, int64_t not_after)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "address", address);
	cJSON_AddStringToObject(o, "medium", medium);
	cJSON_AddStringToObject(o, "mxid", mxid);
	cJSON_AddNumberToObject(o, "not_before", (double)not_before);
	cJSON_AddNumberToObject(o, "not_after", (double)not_after);
	cJSON_AddNumberToObject(o, "ts", (double)ts);
	return o;
}
