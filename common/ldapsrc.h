/*
 * The organisation's directory as a source of bindings: every entry an
 * LDAP or Active Directory search finds (the configuration's ldap_*
 * keys) gives a Matrix user ID, @<localpart>:<server_name>, and the
 * entry's email addresses, each through the one address rule.  The
 * only user of OpenLDAP's libldap; programs that call ldapsrc_read link
 * $(BUILD)/common/ldapsrc.o and $(LDAP_LIBS) (Makefile).
 */
#ifndef SIGIL_LDAPSRC_H
#define SIGIL_LDAPSRC_H

#include <stddef.h>

struct cfg;

/*
 * Called once per (medium, address, mxid) the directory yields; returns
 * 0 to go on, -1 to stop the read (the read then fails).  The strings
 * are borrowed for the call.  Calls come as entries arrive, before the
 * read is known to complete.  An entry gives each of its addresses once,
 * but two entries may give the same address (for the same or another
 * user ID): the caller decides what a repeat or a conflict means.
 */
typedef int (*sync_emit_fn)(void *arg, const char *medium,
    const char *address, const char *mxid);

/* What a value of an address attribute holds (ldapsrc_mail_value). */
enum ldapsrc_value {
	LDAPSRC_PLAIN,		/* an address as is (mail) */
	LDAPSRC_SMTP,		/* "smtp:" or "SMTP:" and an address */
	LDAPSRC_OTHER,		/* another type: "X500:", "sip:", ... */
};

int	 ldapsrc_read(const struct cfg *cfg, sync_emit_fn emit, void *arg,
	    char *err, size_t errlen);
int	 ldapsrc_filter_escape(const char *, size_t, char *, size_t);
enum ldapsrc_value ldapsrc_mail_value(const char *, const char **);
int	 ldapsrc_user_id(const char *, const char *, char *, size_t);

#endif /* !SIGIL_LDAPSRC_H */
