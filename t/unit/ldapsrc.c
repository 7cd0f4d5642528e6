/*
 * Unit tests for common/ldapsrc's pure parts: a value escaped for a
 * search filter (RFC 4515, section 3 and its examples), the typed values
 * of Active Directory's proxyAddresses (smtp: and SMTP: kept, X500:,
 * sip: and the like not), and a directory's localpart made a user ID.
 * The reads themselves run against a real slapd in
 * t/http/46-ldap-source.t.
 */
#include <string.h>

#include "ldapsrc.h"
#include "tap.h"

static const struct {
	const char	*in;
	size_t		 n;
	const char	*want;
} escapes[] = {
	/* RFC 4515, section 4: the examples' values. */
	{ "Parens R Us (for all your parenthetical needs)", 46,
	    "Parens R Us \\28for all your parenthetical needs\\29" },
	{ "*", 1, "\\2a" },
	{ "C:\\MyFile", 9, "C:\\5cMyFile" },
	{ "\0\0\0\004", 4, "\\00\\00\\00\004" },
	/* UTF-8 stays as it is (valueencoding's UTFMB). */
	{ "Lu\xc4\x8di\xc4\x87", 7, "Lu\xc4\x8di\xc4\x87" },
	/* A value that would widen a filter if put in as is. */
	{ "*)(uid=*))(|(uid=*", 18,
	    "\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a" },
	{ "alice@example.org", 17, "alice@example.org" },
	{ "", 0, "" },
};

static const struct {
	const char		*value;
	enum ldapsrc_value	 want;
	const char		*addr;
} values[] = {
	{ "alice@example.org", LDAPSRC_PLAIN, "alice@example.org" },
	{ "SMTP:Alice.Smith@example.org", LDAPSRC_SMTP,
	    "Alice.Smith@example.org" },
	{ "smtp:alice@example.net", LDAPSRC_SMTP, "alice@example.net" },
	{ "Smtp:a@example.org", LDAPSRC_SMTP, "a@example.org" },
	{ "X500:/o=Example/ou=Exchange/cn=Recipients/cn=alice",
	    LDAPSRC_OTHER, NULL },
	{ "x400:c=US;a= ;p=Example;o=Exchange;s=Smith;g=Alice;",
	    LDAPSRC_OTHER, NULL },
	{ "sip:alice@example.org", LDAPSRC_OTHER, NULL },
	{ "SIP:alice@example.org", LDAPSRC_OTHER, NULL },
	{ "EUM:1234;phone-context=example.org", LDAPSRC_OTHER, NULL },
	{ "smtps:alice@example.org", LDAPSRC_OTHER, NULL },
	{ "smt:alice@example.org", LDAPSRC_OTHER, NULL },
	/* An '@' or other character before the colon: not a type. */
	{ "a@b:c", LDAPSRC_PLAIN, "a@b:c" },
	{ "s.mtp:alice@example.org", LDAPSRC_PLAIN,
	    "s.mtp:alice@example.org" },
	{ ":alice@example.org", LDAPSRC_PLAIN, ":alice@example.org" },
	{ "SMTP:", LDAPSRC_SMTP, "" },
	{ "", LDAPSRC_PLAIN, "" },
};

static const struct {
	const char	*localpart;
	const char	*want;		/* NULL: refused */
} users[] = {
	{ "alice", "@alice:example.org" },
	{ "ASmith", "@asmith:example.org" },
	{ "a.b_c=d-e/f+g", "@a.b_c=d-e/f+g:example.org" },
	{ "0123", "@0123:example.org" },
	{ "J Smith", NULL },
	{ "jsmith$", NULL },
	{ "DOMAIN\\jsmith", NULL },
	{ "j\xc3\xa9r\xc3\xb4me", NULL },
	{ "a:b", NULL },
	{ "", NULL },
};

int
main(void)
{
	char		 out[512], big[600];
	const char	*addr;
	size_t		 i;

	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		ok(ldapsrc_filter_escape(escapes[i].in, escapes[i].n, out,
		    sizeof(out)) == 0, "escape %zu fits", i);
		ok(strlen(out) == strlen(escapes[i].want) &&
		    memcmp(out, escapes[i].want, strlen(out)) == 0,
		    "escape %zu: %s", i, out);
	}
	ok(ldapsrc_filter_escape("(a)", 3, out, 7) == -1,
	    "\\28a\\29 and its NUL do not fit 7 bytes");
	ok(ldapsrc_filter_escape("(a)", 3, out, 8) == 0 &&
	    strcmp(out, "\\28a\\29") == 0, "but fit 8");
	ok(ldapsrc_filter_escape("abc", 3, out, 3) == -1,
	    "no room for the NUL: refused");

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		is_int(ldapsrc_mail_value(values[i].value, &addr),
		    values[i].want, "\"%s\" is of kind %d", values[i].value,
		    (int)values[i].want);
		if (values[i].addr != NULL)
			is_str(addr, values[i].addr, "its address");
	}

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (users[i].want != NULL) {
			ok(ldapsrc_user_id(users[i].localpart, "example.org",
			    out, sizeof(out)) == 0, "%s: a user ID",
			    users[i].localpart);
			is_str(out, users[i].want, "%s", users[i].want);
		} else
			ok(ldapsrc_user_id(users[i].localpart, "example.org",
			    out, sizeof(out)) == -1, "\"%s\" is refused",
			    users[i].localpart);
	}
	ok(ldapsrc_user_id("alice", "example.org:8448", out, sizeof(out)) ==
	    0 && strcmp(out, "@alice:example.org:8448") == 0,
	    "a server name with a port");
	memset(big, 'a', 250);
	big[250] = '\0';
	ok(ldapsrc_user_id(big, "example.org", out, sizeof(out)) == -1,
	    "a user ID over 255 bytes is refused");
	ok(ldapsrc_user_id("alice", "example.org", out, 10) == -1,
	    "one that does not fit the buffer too");
	return done_testing();
}
