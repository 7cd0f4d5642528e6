/*
 * Address checking and canonical form: one rule for every path that takes
 * an address, so that one mailbox has one spelling in sessions, rate
 * limits, bindings, hashes, invites and the mail itself.
 *
 * Accepted: local@domain, at most MAX_EMAIL bytes of valid UTF-8, with
 * no code point of Unicode general category C (Cc controls such as CR,
 * LF, NUL, DEL and U+0085; Cf format characters such as U+202E and
 * U+200B; surrogates, private use, unassigned) or Z (spaces, U+2028,
 * U+2029) anywhere.  The local part is a dot-atom (RFC 5322 atext and,
 * as RFC 6531 allows, non-ASCII characters; no leading, trailing or
 * double dot).  Refused: quoted local parts and backslash escapes (no
 * provider issues them, and an escape is how a control byte would hide),
 * address literals ("a@[192.0.2.1]") and all-numeric top labels
 * ("a@127.0.0.1"), display names, angle brackets, commas, a second @.
 *
 * The canonical form:
 *   - the local part Unicode case-folded in full, not normalised, as the
 *     spec (appendix "3PID Types") and sydent (Python's str.casefold())
 *     fold it, so "Strauß" becomes "strauss";
 *   - the domain through IDNA2008 with UTS #46 non-transitional mapping
 *     (libidn2), then back to Unicode: lower case, NFC, U-labels.  An
 *     "xn--" spelling and the Unicode spelling of one domain are one
 *     canonical form, and it is the Unicode one, because clients hash
 *     the address as the user typed it, lower-cased (v2 lookups), and
 *     users type Unicode.  SMTP gets the A-label form of the same domain,
 *     derived from the canonical form by email_envelope().  The domain is
 *     not case-folded like the local part: under IDNA2008 "straße.de" and
 *     "strasse.de" are two domains, and folding would mail the wrong one.
 *   - the canonical form, and its A-label form, must fit MAX_EMAIL too,
 *     since it is what is stored and what homeservers send back.
 *
 * The folding and the category tables are libunistring's, IDNA is
 * libidn2's: every libpq process on Debian has both loaded already
 * (libpq -> libldap -> GnuTLS -> libidn2 -> libunistring).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>

#include "email.h"
#include "json.h"
#include "util.h"

/* UTS #46 non-transitional processing, input to NFC.  Not libidn2's
 * STD3 rules: they drop some characters ("exa\uFF3Fmple" would become
 * "example") where alabels_valid() below refuses what is not LDH. */
#define IDNA_FLAGS	(IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL)

/*
 * Returns 1 when the n bytes at s are valid UTF-8 without a code point of
 * general category C (Cc, Cf, Cs, Co, Cn) or Z (Zs, Zl, Zp): no control,
 * format, line or paragraph separator, space, private-use or unassigned
 * character.  ASCII space and DEL are among them.
 */
int
email_text_clean(const char *s, size_t n)
{
	const uint8_t	*p = (const uint8_t *)s, *end = p + n;
	ucs4_t		 uc;
	int		 k;

	if (!json_utf8_valid(p, n))
		return 0;
	while (p < end) {
		if (*p < 0x80) {
			if (*p <= 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if ((k = u8_mbtoucr(&uc, p, (size_t)(end - p))) <= 0)
			return 0;
		if (uc_is_general_category(uc, UC_CATEGORY_C) ||
		    uc_is_general_category(uc, UC_CATEGORY_Z))
			return 0;
		p += k;
	}
	return 1;
}

/* RFC 5322 atext besides letters and digits. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

/*
 * Returns 1 when the n bytes at s (clean text, see above) are a dot-atom
 * local part: atext and non-ASCII characters, dots only between them.
 */
static int
local_part_valid(const char *s, size_t n)
{
	size_t	 i;
	char	 ch;

	if (n == 0 || n > MAX_EMAIL_LOCAL || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		ch = s[i];
		if ((unsigned char)ch >= 0x80 || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr(atext_specials, ch) != NULL)
			continue;
		if (ch == '.' && s[i + 1] != '.')
			continue;
		return 0;
	}
	return 1;
}

/*
 * Returns 1 when the NUL-terminated a is a domain in lower-case A-labels
 * that may receive mail: labels of 1 to MAX_EMAIL_LABEL of [a-z0-9-], no
 * hyphen first or last, "--" in the third and fourth place only in
 * "xn--" (RFC 5891 reserves the rest), at most MAX_EMAIL_DOMAIN in all,
 * no root dot, and a top label that is not all digits (so that
 * "127.0.0.1" is not an address literal in disguise).
 */
static int
alabels_valid(const char *a)
{
	size_t	 n = strlen(a), len, i;
	const char *label = a, *end;
	int	 digits = 0;

	if (n == 0 || n > MAX_EMAIL_DOMAIN)
		return 0;
	for (;;) {
		end = strchr(label, '.');
		len = end == NULL ? strlen(label) : (size_t)(end - label);
		if (len == 0 || len > MAX_EMAIL_LABEL || label[0] == '-' ||
		    label[len - 1] == '-')
			return 0;
		if (len >= 4 && label[2] == '-' && label[3] == '-' &&
		    strncmp(label, "xn", 2) != 0)
			return 0;
		digits = 1;
		for (i = 0; i < len; i++) {
			if (label[i] >= '0' && label[i] <= '9')
				continue;
			digits = 0;
			if (!((label[i] >= 'a' && label[i] <= 'z') ||
			    label[i] == '-'))
				return 0;
		}
		if (end == NULL)
			break;
		label = end + 1;
	}
	return !digits;
}

/*
 * Canonicalises the domain d (n bytes of clean text).  Returns 0 with
 * *uform (the canonical, Unicode form) and *aform (its A-labels) newly
 * allocated, for the caller to free, or -1 with nothing allocated.
 */
static int
domain_canonical(const char *d, size_t n, char **uform, char **aform)
{
	char	*in, *a = NULL, *u = NULL, *again = NULL;
	size_t	 i;
	int	 ascii = 1, xn = 0;

	*uform = *aform = NULL;
	if (n == 0 || n > MAX_EMAIL)
		return -1;
	/* ASCII is letters, digits, hyphens and dots only: brackets are
	 * address literals, refused like every other non-LDH character. */
	for (i = 0; i < n; i++) {
		if ((unsigned char)d[i] >= 0x80) {
			ascii = 0;
			continue;
		}
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' &&
		    d[i] <= 'Z') || (d[i] >= '0' && d[i] <= '9') ||
		    d[i] == '-' || d[i] == '.'))
			return -1;
		if ((i == 0 || d[i - 1] == '.') && n - i >= 4 &&
		    (d[i] == 'x' || d[i] == 'X') && (d[i + 1] == 'n' ||
		    d[i + 1] == 'N') && d[i + 2] == '-' && d[i + 3] == '-')
			xn = 1;
	}
	in = xmalloc(n + 1);
	memcpy(in, d, n);
	in[n] = '\0';
	if (ascii && !xn) {
		/* Plain LDH: lower case is all UTS #46 would do to it. */
		for (i = 0; i < n; i++)
			if (in[i] >= 'A' && in[i] <= 'Z')
				in[i] = (char)(in[i] - 'A' + 'a');
		if (!alabels_valid(in)) {
			free(in);
			return -1;
		}
		*uform = in;
		*aform = xstrdup(in);
		return 0;
	}
	/* To A-labels (mapping, NFC, and checking every label, "xn--"
	 * ones decoded and checked too), back to Unicode, and to A-labels
	 * again: the canonical form must give the same A-labels, so that
	 * canonicalising it changes nothing. */
	if (idn2_to_ascii_8z(in, &a, IDNA_FLAGS) != IDN2_OK ||
	    !alabels_valid(a) ||
	    idn2_to_unicode_8z8z(a, &u, 0) != IDN2_OK ||
	    !email_text_clean(u, strlen(u)) ||
	    idn2_to_ascii_8z(u, &again, IDNA_FLAGS) != IDN2_OK ||
	    strcmp(a, again) != 0) {
		free(in);
		idn2_free(a);
		idn2_free(u);
		idn2_free(again);
		return -1;
	}
	free(in);
	*uform = xstrdup(u);
	*aform = xstrdup(a);
	idn2_free(a);
	idn2_free(u);
	idn2_free(again);
	return 0;
}

/*
 * Writes local (llen bytes) "@" domain (dlen bytes) and a NUL into out
 * (outsz bytes).  Returns 0, or -1 when it does not fit.
 */
static int
join_address(char *out, size_t outsz, const char *local, size_t llen,
    const char *domain, size_t dlen)
{
	if (llen + 1 + dlen >= outsz)
		return -1;
	memcpy(out, local, llen);
	out[llen] = '@';
	memcpy(out + llen + 1, domain, dlen + 1);
	return 0;
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
 * Checks the address in; writes its canonical form into canon (canonsz
 * bytes with the NUL) when canon is not NULL, and its SMTP form (the
 * same with the domain in A-labels) into env when env is not NULL.
 * Returns 0, or -1 when in is not an address we accept or a form does
 * not fit.
 */
static int
canonicalise(const char *in, char *canon, size_t canonsz, char *env,
    size_t envsz)
{
	uint8_t		 lbuf[MAX_EMAIL + 1], *folded = NULL;
	char		*uform = NULL, *aform = NULL;
	const char	*at;
	size_t		 n = strlen(in), ln, flen, ulen, alen;
	int		 rc = -1;

	if (n == 0 || n > MAX_EMAIL || !email_text_clean(in, n))
		return -1;
	if ((at = strchr(in, '@')) == NULL)
		return -1;
	ln = (size_t)(at - in);
	if (!local_part_valid(in, ln) ||
	    domain_canonical(at + 1, n - ln - 1, &uform, &aform) == -1)
		return -1;
	/* Folding can lengthen ("\xce\x90" is 2 bytes, its folding 6); what
	 * does not fit lbuf is too long anyway. */
	if ((folded = fold(in, ln, lbuf, sizeof(lbuf), &flen)) == NULL)
		goto out;
	ulen = strlen(uform);
	alen = strlen(aform);
	if (!email_text_clean((const char *)folded, flen) ||
	    !local_part_valid((const char *)folded, flen) ||
	    flen + 1 + ulen > MAX_EMAIL || flen + 1 + alen > MAX_EMAIL)
		goto out;
	if ((canon != NULL && join_address(canon, canonsz, (const char *)folded,
	    flen, uform, ulen) == -1) || (env != NULL && join_address(env,
	    envsz, (const char *)folded, flen, aform, alen) == -1))
		goto out;
	rc = 0;
out:
	if (folded != NULL && folded != lbuf)
		free(folded);
	free(uform);
	free(aform);
	return rc;
}

/*
 * Checks the address in and writes its canonical form into out (outsz
 * bytes with the NUL).  Returns 0, or -1 when in is not an address we
 * accept (see above) or its canonical form does not fit.
 */
int
email_canonical(const char *in, char *out, size_t outsz)
{
	return canonicalise(in, out, outsz, NULL, 0);
}

/*
 * Writes the SMTP form of the address in into out (outsz bytes with the
 * NUL): its canonical form with the domain in A-labels, for RCPT TO,
 * which servers without SMTPUTF8 need.  Returns 0, or -1 as
 * email_canonical() does.
 */
int
email_envelope(const char *in, char *out, size_t outsz)
{
	return canonicalise(in, NULL, 0, out, outsz);
}

/*
 * Returns a newly allocated copy of the UTF-8 text in, case-folded in
 * full as email_canonical() folds local parts (for matching words, not
 * only addresses), or NULL when in is not UTF-8.
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
