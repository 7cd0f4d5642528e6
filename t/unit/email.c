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
		{ "\"quoted@local\"@example.org", "\"quoted@local\"@example.org" },
		{ "\"with space\"@example.org", "\"with space\"@example.org" },
		{ "user@[192.0.2.1]", "user@[192.0.2.1]" },
		{ "user@[IPv6:2001:DB8::1]", "user@[ipv6:2001:db8::1]" },
		{ "user@[ipv6:2001:db8::1]", "user@[ipv6:2001:db8::1]" },
		{ "o'brien@example.ie", "o'brien@example.ie" },
		{ "x@\xc3\xbc" "ber.example", "x@\xc3\xbc" "ber.example" },
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
	is_int(fold_like_python(), 0, "case folding agrees with Python's "
	    "str.casefold() on every code point up to U+2FFFF");
	ok(email_canonical("Alice@Example.org", out, 5) == -1,
	    "an output buffer too small is refused, not overrun");
	return done_testing();
}
