/*
 * Address checking and canonical form.  Accepted: one bare addr-spec,
 * local@domain, at most MAX_EMAIL bytes of valid UTF-8 before and after
 * case folding; the local part either unquoted (no space, no @, no
 * specials) or one quoted string; the domain dot-separated labels or an
 * address literal in brackets.  Refused before anything is stored or
 * mailed: display names, angle brackets, commas, a second unquoted @, CR,
 * LF, NUL and every other control character.  The canonical form is
 * Unicode case folding (full folding, so "Strauß" becomes "strauss"),
 * which lower-cases the domain too.  The folding is libunistring's: every
 * libpq process on Debian has it loaded already (libpq -> libldap ->
 * GnuTLS -> libidn2), where ICU would add two libraries and the C++
 * runtime to every program that canonicalises an address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicase.h>

#include "email.h"
#include "json.h"
#include "util.h"

/* Characters that may not stand unquoted in a local part. */
static const char local_specials[] = " \t\"(),:;<>@[\\]";

static int
local_part_valid(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 64 * 4)
		return 0;
	if (s[0] == '"') {
		if (n < 2 || s[n - 1] != '"')
			return 0;
		for (i = 1; i < n - 1; i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return 0;
			if (s[i] == '"')
				return 0;	/* ends early */
			if (s[i] == '\\' && ++i >= n - 1)
				return 0;
		}
		return 1;
	}
	if (s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    strchr(local_specials, s[i]) != NULL)
			return 0;
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

static int
domain_valid(const char *s)
{
	size_t	 n = strlen(s), i, label = 0;

	if (n == 0)
		return 0;
	if (s[0] == '[') {
		/* An address literal (RFC 5321 4.1.3): [digits and dots], or
		 * [IPv6:hex, colons and dots] with the tag in any case, as
		 * ABNF strings are (the canonical form lower-cases it). */
		const char	*allowed = "0123456789.";

		if (n < 3 || s[n - 1] != ']')
			return 0;
		i = 1;
		if (strncasecmp(s + 1, "IPv6:", 5) == 0) {
			allowed = "0123456789abcdefABCDEF:.";
			i += 5;
		}
		if (i >= n - 1)
			return 0;
		for (; i < n - 1; i++)
			if (strchr(allowed, s[i]) == NULL)
				return 0;
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		/* Letters, digits, hyphens, and UTF-8 for internationalised
		 * names (the JSON layer has checked the UTF-8). */
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || (unsigned char)s[i] >= 0x80))
			return 0;
		label++;
	}
	return label > 0;
}

/*
 * Finds the @ that separates local part and domain: after a quoted local
 * part, or the only @ of an unquoted one.  Returns its offset or -1.
 */
static long
split_at(const char *s)
{
	const char	*p, *at;

	if (s[0] == '"') {
		for (p = s + 1; *p != '\0' && *p != '"'; p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p != '"' || p[1] != '@')
			return -1;
		return (long)(p + 1 - s);
	}
	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return -1;
	return (long)(at - s);
}

/*
 * Full case folding of the n bytes of UTF-8 at in, not normalised, into
 * buf (bufsz bytes) when it fits, else into memory of its own.  Returns
 * the folded bytes (*outlen of them, no NUL) or NULL on failure.
 */
static uint8_t *
fold(const char *in, size_t n, uint8_t *buf, size_t bufsz, size_t *outlen)
{
	*outlen = bufsz;
	return u8_casefold((const uint8_t *)in, n, NULL, NULL, buf, outlen);
}

/*
 * Checks the address in and writes its canonical form into out (outsz
 * bytes with the NUL).  Returns 0, or -1 when in is not an address we
 * accept (see above) or its folded form does not fit.
 */
int
email_canonical(const char *in, char *out, size_t outsz)
{
	uint8_t		*folded;
	size_t		 n = strlen(in), flen;
	long		 at;
	int		 rc = -1;

	if (n == 0 || n > MAX_EMAIL ||
	    !json_utf8_valid((const unsigned char *)in, n))
		return -1;
	if ((at = split_at(in)) <= 0 ||
	    !local_part_valid(in, (size_t)at) || !domain_valid(in + at + 1))
		return -1;
	if (outsz == 0 ||
	    (folded = fold(in, n, (uint8_t *)out, outsz - 1, &flen)) == NULL)
		return -1;
	/* Folding can lengthen ("\xce\x90" is 2 bytes, its folding 6): the
	 * canonical form must itself be an address we accept, since it is
	 * what is stored and what homeservers send back (unbind). */
	if (flen < outsz && flen <= MAX_EMAIL) {
		if (folded != (uint8_t *)out)
			memcpy(out, folded, flen);
		out[flen] = '\0';
		rc = 0;
	}
	if (folded != (uint8_t *)out)
		free(folded);
	return rc;
}

/*
 * Returns a newly allocated copy of the UTF-8 text in, case-folded in
 * full as email_canonical() folds (for matching words, not only
 * addresses), or NULL when in is not UTF-8.
 */
char *
utf8_casefold(const char *in)
{
	uint8_t		*folded;
	char		*out;
	size_t		 n = strlen(in), flen;

	if (!json_utf8_valid((const unsigned char *)in, n))
		return NULL;
	if ((folded = fold(in, n, NULL, 0, &flen)) == NULL)
		return NULL;
	out = xmalloc(flen + 1);
	memcpy(out, folded, flen);
	out[flen] = '\0';
	free(folded);
	return out;
}
