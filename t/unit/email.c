/* Unit tests for common/email: what is an address, and its canonical form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "email.h"
#include "tap.h"

static const char *
canon(const char *in)
{
	static char	 out[3 * MAX_EMAIL + 1];

	return email_canonical(in, out, sizeof(out)) == 0 ? out : "(refused)";
}

/*
 * Every code point from U+0080 to U+2FFFF, between two ASCII letters,
 * folds to what Python's str.casefold() gives (sydent folds addresses
 * with it, so a binding imported from sydent must hash the same).
 * Returns how many differ.
 */
static int
fold_like_python(void)
{
	static const char script[] =
	    "python3 -c 'import sys\n"
	    "for c in range(0x80, 0x30000):\n"
	    "  if 0xD800 <= c < 0xE000: continue\n"
	    "  s = \"x\" + chr(c) + \"y\"\n"
	    "  sys.stdout.write(s + \"\\t\" + s.casefold() + \"\\n\")\n'";
	FILE	*py;
	char	 line[64], *tab, *folded;
	int	 lines = 0, differ = 0;

	if ((py = popen(script, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), py) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab++ = '\0';
		lines++;
		folded = utf8_casefold(line);
		if (folded == NULL || strcmp(folded, tab) != 0) {
			if (differ++ < 5)
				diag("\"%s\" folds to \"%s\", Python's to \"%s\"",
				    line, folded != NULL ? folded : "(null)", tab);
		}
		free(folded);
	}
	if (pclose(py) != 0 || lines != 0x30000 - 0x80 - 0x800)
		return -1;
	return differ;
}

int
main(void)
{
	static const char *const good[][2] = {
		{ "alice@example.org", "alice@example.org" },
		{ "Alice@Example.ORG", "alice@example.org" },
		{ "Stra\xc3\x9f" "e@Example.com", "strasse@example.com" },
		{ "\xc3\x89LODIE@EXAMPLE.FR", "\xc3\xa9lodie@example.fr" },
		{ "a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk" },
		{ "o'brien@example.ie", "o'brien@example.ie" },
		{ "!#$%&'*+-/=?^_`{|}~@example.org",
		    "!#$%&'*+-/=?^_`{|}~@example.org" },
		{ "a@localhost", "a@localhost" },
		{ "a@1.2.3.example", "a@1.2.3.example" },
		/* IDNA: the Unicode form, lower case and NFC, whatever the
		 * spelling: U-labels, xn-- A-labels in any case, NFD,
		 * full-width letters and ideographic full stops. */
		{ "x@\xc3\xbc" "ber.example", "x@\xc3\xbc" "ber.example" },
		{ "x@\xc3\x9c" "BER.example", "x@\xc3\xbc" "ber.example" },
		{ "x@xn--ber-goa.example", "x@\xc3\xbc" "ber.example" },
		{ "x@XN--BER-GOA.EXAMPLE", "x@\xc3\xbc" "ber.example" },
		{ "x@u\xcc\x88" "ber.example", "x@\xc3\xbc" "ber.example" },
		{ "x@\xef\xbd\x85xample\xe3\x80\x82org", "x@example.org" },
		{ "x@xn--bcher-kva.xn--bcher-kva", "x@b\xc3\xbc" "cher."
		    "b\xc3\xbc" "cher" },
		/* The domain is not folded: straße.de is not strasse.de. */
		{ "x@stra\xc3\x9f" "e.de", "x@stra\xc3\x9f" "e.de" },
		{ "x@xn--strae-oqa.de", "x@stra\xc3\x9f" "e.de" },
		{ "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85"
		    "\xac\xe5\x8f\xb8", "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b"
		    "\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8" },
	};
	static const char *const bad[] = {
		"", "plain", "@example.org", "alice@", "a@b@c.example",
		"a@evil.com@victim.com", "\"Name\" <a@b.example>", "<a@b.example>",
		"a@b.example,c@d.example", "a@b.example\r\nBcc: c@d.example",
		"a\r@b.example", "a@b.example\n", "a b@example.org",
		"a@exam ple.org", "a@example.org ", " a@example.org",
		"a\t@example.org", "a(comment)@example.org", "a@example..org",
		".a@example.org", "a.@example.org", "a..b@example.org",
		"a@.example.org", "\"unterminated@example.org",
		"\"a\"b@example.org", "a@exa_mple.org", "a@example.org.",
		"a;b@example.org", "a@\x01.org", "\xff@example.org",
		"a@[]", "a@[IPv6:]", "a@[abc]", "a@[4.2IPv6:7.0.0.1]",
		"a@[IPv6:2001:db8::g]", "a@[192.0.2.1", "a@[x400:abc]",
		/* Quoted local parts, escapes and the probe's injections. */
		"\"quoted@local\"@example.org", "\"with space\"@example.org",
		"\"victim\"@example.org", "\"v\\ictim\"@example.org",
		"\"a\\\rbcc: x@evil\"@victim.com",
		"\"a\\\nRCPT TO:<x@evil>\"@victim.com",
		"\"a\\\r\nbcc: x@evil\"@victim.com", "a\\b@example.org",
		"a\x7f@example.org", "a@exa\x7fmple.org",
		/* Address literals, and one in disguise. */
		"user@[192.0.2.1]", "user@[IPv6:2001:DB8::1]",
		"user@[127.0.0.1]", "a@127.0.0.1", "a@1.2.3.4",
		/* Unicode controls, format characters, separators. */
		"a\xe2\x80\xae" "b@example.org",		/* U+202E */
		"a@exa\xe2\x80\xaemple.org",
		"a\xe2\x80\xa8" "b@example.org",		/* U+2028 */
		"a\xe2\x80\xa9" "b@example.org",		/* U+2029 */
		"a\xc2\x85" "b@example.org",		/* U+0085 */
		"a\xc2\x85@example.org", "a@example.org\xc2\x85",
		"a\xe2\x80\x8b" "b@example.org",		/* U+200B */
		"a\xef\xbb\xbf" "b@example.org",		/* U+FEFF */
		"a\xc2\xa0" "b@example.org",		/* U+00A0 */
		"a\xee\x80\x80" "b@example.org",		/* U+E000 */
		"a\xc2\x9b" "b@example.org",		/* U+009B */
		"a\xed\xa0\x80" "b@example.org",	/* a surrogate */
		"a\xc0\xaa" "b@example.org",		/* overlong */
		/* Domains IDNA refuses or that cannot receive mail. */
		"a@xn--zz.example", "a@xn--a.example", "a@-a.example",
		"a@a-.example", "a@ab--cd.example", "a@\xf0\x9f\x92\xa9.la",
		"a@xn--ls8h.la", "a@exa\xef\xbc\xbfmple.org",
		"a@exa\xef\xbc\xa0mple.org",
	};
	char	 longest[300], out[3 * MAX_EMAIL + 1];
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_str(canon(good[i][0]), good[i][1], "\"%s\" is canonical as "
		    "\"%s\"", good[i][0], good[i][1]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(canon(bad[i]), "(refused)", "entry %zu of the bad list "
		    "is refused", i);
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 254 - 12, "@example.org", 13);
	ok(email_canonical(longest, out, sizeof(out)) == 0,
	    "254 bytes in all is accepted");
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 255 - 12, "@example.org", 13);
	ok(email_canonical(longest, out, sizeof(out)) == -1,
	    "255 bytes is refused");
	/* U+0390 is 2 bytes and folds to 6: the canonical form must fit
	 * MAX_EMAIL as well as what was sent. */
	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "\xce\x90", 2);
	memcpy(longest + 250 - 12, "@example.org", 13);
	ok(email_canonical(longest, out, sizeof(out)) == 0 &&
	    strlen(out) == 254, "250 bytes folding to 254 is accepted");
	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "\xce\x90", 2);
	memcpy(longest + 251 - 12, "@example.org", 13);
	ok(email_canonical(longest, out, sizeof(out)) == -1,
	    "251 bytes folding to 255 is refused");
	longest[0] = 'a';
	longest[1] = 'a';
	ok(email_canonical(longest, out, sizeof(out)) == 0,
	    "and 251 bytes that fold to as many are accepted");
	/* Too long after IDNA: 200 bytes of local part and a domain of
	 * 14 Unicode bytes whose A-labels take 59: the canonical form
	 * fits, the SMTP form does not. */
	memset(longest, 'a', sizeof(longest));
	memcpy(longest + 200, "@\xe4\xbe\x8b\xe5\xad\x90\xe4\xbe\x8b\xe5"
	    "\xad\x90.example", 22);
	ok(email_canonical(longest, out, sizeof(out)) == 0,
	    "a long local part with a short IDN fits");
	memset(longest, 'a', sizeof(longest));
	{
		/* 64 bytes of local part, and 60 CJK characters: 183
		 * bytes in Unicode, over 63 bytes in one A-label. */
		size_t	 k, at = 64;

		longest[at] = '@';
		for (k = 0; k < 60; k++)
			memcpy(longest + at + 1 + 3 * k, "\xe4\xbe\x8b", 3);
		memcpy(longest + at + 1 + 180, ".org", 5);
		ok(strlen(longest) <= MAX_EMAIL &&
		    email_canonical(longest, out, sizeof(out)) == -1,
		    "a label over 63 bytes in A-labels is refused");
	}
	ok(email_envelope("x@\xc3\xbc" "ber.example", out, sizeof(out)) == 0 &&
	    strcmp(out, "x@xn--ber-goa.example") == 0,
	    "the SMTP form has the domain in A-labels");
	ok(email_envelope("X@XN--BER-GOA.example", out, sizeof(out)) == 0 &&
	    strcmp(out, "x@xn--ber-goa.example") == 0,
	    "from any spelling");
	ok(email_envelope("\"x\"@example.org", out, sizeof(out)) == -1,
	    "and only of an address we accept");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char	 again[3 * MAX_EMAIL + 1];

		ok(email_canonical(good[i][1], again, sizeof(again)) == 0 &&
		    strcmp(good[i][1], again) == 0, "\"%s\" is its own "
		    "canonical form", good[i][1]);
	}
	ok(email_text_clean("a\xc3\xa9z", 4) && !email_text_clean("a b", 3) &&
	    !email_text_clean("\xe2\x80\xa8", 3), "email_text_clean");
	is_int(fold_like_python(), 0, "case folding agrees with Python's "
	    "str.casefold() on every code point up to U+2FFFF");
	ok(email_canonical("Alice@Example.org", out, 5) == -1,
	    "an output buffer too small is refused, not overrun");
	return done_testing();
}
