/*
 * Reading the organisation's directory (OpenLDAP, Active Directory) with
 * libldap: connect (ldap://, ldaps://, ldapi://; StartTLS on request),
 * check the server's certificate against ldap_ca_file, bind, then one
 * subtree search of ldap_base with ldap_filter as written, in pages of
 * ldap_page_size (RFC 2696) so that a directory larger than the server's
 * size limit is read whole.  A read either completes or fails: any error
 * (a refused bind, a TLS failure, a size limit, a bad filter, a timeout)
 * ends it with -1 and one line saying why, so that a caller never takes
 * part of a directory for all of it.
 *
 * Each entry gives one user ID, @<localpart>:<server_name>, from the
 * first value of ldap_localpart lowercased, and the addresses of every
 * ldap_mail attribute: plain values (mail) and, from Active Directory's
 * proxyAddresses, those typed smtp: or SMTP: (other types, X500: and
 * sip: say, are not email addresses).  Each address goes through the one
 * address rule (threepid_canonical()).  An entry without a valid
 * localpart and an address the rule refuses are skipped and logged; the
 * read goes on.
 *
 * libldap may write to a connection the server closed: callers ignore
 * SIGPIPE.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldap.h>

#include "bounds.h"
#include "cfg.h"
#include "ident.h"
#include "ldapsrc.h"
#include "log.h"
#include "secret.h"
#include "threepid.h"
#include "util.h"

/* A password file's mode bits that make it refused: any access by
 * others, or a group that may change it (a group may read: 0640). */
#define PASSWORD_MODE_REFUSED	(S_IWGRP | S_IRWXO)

/* Skipped entries and refused addresses logged one by one in a read;
 * the rest are counted in its summary line. */
#define LDAPSRC_LOG_MAX		20

/* An entry's addresses remembered so that each is emitted once however
 * many attributes hold it; past this many, a repeat may be emitted again
 * (ldapsrc.h: callers take repeats). */
#define LDAPSRC_ENTRY_SEEN	256

/* The address attribute when ldap_mail is not set. */
static const char *const default_mail = "mail";

/* One read: the connection, the caller's emitter, what was seen. */
struct ldapsrc_run {
	const struct cfg *cfg;
	LDAP		*ld;
	const char	*uri;		/* borrowed from cfg, for messages */
	sync_emit_fn	 emit;
	void		*arg;
	char		*err;
	size_t		 errlen;
	size_t		 entries;	/* entries read */
	size_t		 addresses;	/* emitted */
	size_t		 skipped;	/* entries without a user ID */
	size_t		 refused;	/* values the address rule refused */
	size_t		 logged;	/* lines logged about them */
	int		 connected;	/* a connection was made (TCP, or
					   the ldapi:// socket) */
	struct ldap_conncb conncb;	/* which says so; libldap keeps a
					   pointer to it until the unbind */
	char		 seen[LDAPSRC_ENTRY_SEEN][THREEPID_MAX_ADDRESS];
	size_t		 nseen;		/* an entry's addresses so far */
};

/*
 * Writes the RFC 4515 form of the n bytes at in, a value to be put in a
 * search filter, into out (outsz bytes, NUL-ended): '*', '(', ')', '\'
 * and NUL become \2a, \28, \29, \5c and \00; the rest, UTF-8 included,
 * stays as is.  Returns 0, or -1 when out is too small.
 */
int
ldapsrc_filter_escape(const char *in, size_t n, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0;
	unsigned char		 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (c == '*' || c == '(' || c == ')' || c == '\\' ||
		    c == '\0') {
			if (o + 3 >= outsz)
				return -1;
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else {
			if (o + 1 >= outsz)
				return -1;
			out[o++] = (char)c;
		}
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

/*
 * Says what the value of an address attribute holds, and points *addr
 * (borrowed from value) at its address.  A value whose text before the
 * first ':' is letters and digits alone, with no '@' before it, is typed
 * as Active Directory's proxyAddresses are ("SMTP:a@example.org", the
 * primary address; "smtp:b@example.org", another; "X500:/o=...",
 * "sip:..."): LDAPSRC_SMTP for the smtp type in any case, LDAPSRC_OTHER
 * for the rest.  Anything else is LDAPSRC_PLAIN, the value itself.
 */
enum ldapsrc_value
ldapsrc_mail_value(const char *value, const char **addr)
{
	size_t	 n = strspn(value, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

	*addr = value;
	if (n == 0 || value[n] != ':')
		return LDAPSRC_PLAIN;
	*addr = value + n + 1;
	if (n == 4 && strncasecmp(value, "smtp", 4) == 0)
		return LDAPSRC_SMTP;
	return LDAPSRC_OTHER;
}

/*
 * Writes the user ID of localpart on server_name, "@<localpart>:<server>"
 * with the localpart's ASCII letters lowercased, into out (outsz bytes).
 * Returns 0, or -1 when it is not a valid user ID (a character outside
 * [a-z0-9._=/+-], an empty localpart, over 255 bytes) or does not fit.
 */
int
ldapsrc_user_id(const char *localpart, const char *server_name, char *out,
    size_t outsz)
{
	size_t	 i;
	int	 n;

	n = snprintf(out, outsz, "@%s:%s", localpart, server_name);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	for (i = 1; i <= strlen(localpart); i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return ident_user_id_valid(out) ? 0 : -1;
}

/*
 * Sets the run's error to the formatted text, then ": " and what libldap
 * says of rc and the server's diagnostic message, if any; control
 * characters become spaces, so that it stays one line.  Returns -1.
 */
static int
run_fail(struct ldapsrc_run *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
run_fail(struct ldapsrc_run *r, int rc, const char *fmt, ...)
{
	va_list	 ap;
	char	*diag = NULL;
	size_t	 n;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	n = strlen(r->err);
	if (rc != LDAP_SUCCESS && n < r->errlen) {
		if (r->ld != NULL)
			ldap_get_option(r->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE,
			    &diag);
		snprintf(r->err + n, r->errlen - n, ": %s%s%s%s",
		    ldap_err2string(rc), diag != NULL && *diag != '\0' ?
		    " (" : "", diag != NULL ? diag : "", diag != NULL &&
		    *diag != '\0' ? ")" : "");
		ldap_memfree(diag);
	}
	for (n = 0; r->err[n] != '\0'; n++)
		if ((unsigned char)r->err[n] < 0x20 || r->err[n] == 0x7f)
			r->err[n] = ' ';
	return -1;
}

/*
 * Reads the bind password from path into pw (pwsz bytes, NUL-ended),
 * without its final newline.  Returns 0, or -1 with why in the run's
 * error: the file cannot be read, other users may read or change it, it
 * is empty (an empty password would bind as nobody), or too long.
 */
static int
read_password(struct ldapsrc_run *r, const char *path, char *pw,
    size_t pwsz)
{
	struct stat	 st;
	ssize_t		 got;
	size_t		 n = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return run_fail(r, LDAP_SUCCESS, "ldap_bind_password_file "
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & PASSWORD_MODE_REFUSED) != 0) {
		close(fd);
		return run_fail(r, LDAP_SUCCESS, "ldap_bind_password_file "
		    "%s: not a file only its owner (and group) can read "
		    "(mode %03o): chmod 600, or 640 with a group of the "
		    "programs' own", path, (unsigned)(st.st_mode & 0777));
	}
	while (n < pwsz && (got = read(fd, pw + n, pwsz - n)) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			close(fd);
			secure_wipe(pw, pwsz);
			return run_fail(r, LDAP_SUCCESS,
			    "ldap_bind_password_file %s: %s", path,
			    strerror(errno));
		}
		n += (size_t)got;
	}
	close(fd);
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	if (n == 0 || n >= pwsz || memchr(pw, '\0', n) != NULL) {
		secure_wipe(pw, pwsz);
		return run_fail(r, LDAP_SUCCESS, "ldap_bind_password_file "
		    "%s: want one line, the password (1 to %d bytes, no NUL)",
		    path, MAX_LDAP_PASSWORD);
	}
	pw[n] = '\0';
	return 0;
}

/* Logs one skipped entry or refused value, while under the cap. */
static void
run_note(struct ldapsrc_run *r, const char *dn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
run_note(struct ldapsrc_run *r, const char *dn, const char *fmt, ...)
{
	va_list	 ap;
	char	 why[512];

	if (r->logged++ >= LDAPSRC_LOG_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn("ldap: %s: %s", dn, why);
}

/*
 * Copies the value v into out (outsz bytes) as a C string.  Returns 0,
 * or -1 when it holds a NUL or does not fit.
 */
static int
value_text(const struct berval *v, char *out, size_t outsz)
{
	if (v->bv_len >= outsz || memchr(v->bv_val, '\0', v->bv_len) != NULL)
		return -1;
	memcpy(out, v->bv_val, v->bv_len);
	out[v->bv_len] = '\0';
	return 0;
}

/*
 * Emits the addresses of the values of attribute attr of entry e for
 * mxid, skipping typed values that are not smtp, refused ones and those
 * the entry gave already.  Returns 0, or -1 when emit said stop.
 */
static int
entry_addresses(struct ldapsrc_run *r, LDAPMessage *e, const char *dn,
    const char *attr, const char *mxid)
{
	struct berval	**vals;
	const char	*addr;
	char		 text[MAX_LDAP_VALUE], canon[THREEPID_MAX_ADDRESS];
	size_t		 i, j;
	int		 rc = 0;

	if ((vals = ldap_get_values_len(r->ld, e, attr)) == NULL)
		return 0;
	for (i = 0; vals[i] != NULL && rc == 0; i++) {
		if (value_text(vals[i], text, sizeof(text)) == -1) {
			r->refused++;
			run_note(r, dn, "a value of %s is not text or too "
			    "long", attr);
			continue;
		}
		if (ldapsrc_mail_value(text, &addr) == LDAPSRC_OTHER)
			continue;
		if (threepid_canonical("email", addr, canon,
		    sizeof(canon)) == -1) {
			r->refused++;
			run_note(r, dn, "a value of %s is not an address the "
			    "address rule accepts", attr);
			continue;
		}
		for (j = 0; j < r->nseen; j++)
			if (strcmp(r->seen[j], canon) == 0)
				break;
		if (j < r->nseen)
			continue;
		if (r->nseen < sizeof(r->seen) / sizeof(r->seen[0]))
			memcpy(r->seen[r->nseen++], canon, strlen(canon) + 1);
		if (r->emit(r->arg, "email", canon, mxid) == -1) {
			rc = run_fail(r, LDAP_SUCCESS, "%s: the read was "
			    "stopped at %s", r->uri, dn);
			break;
		}
		r->addresses++;
	}
	ldap_value_free_len(vals);
	return rc;
}

/*
 * Emits the addresses of the search entry e.  Returns 0 (an entry without
 * a valid localpart is skipped and logged), or -1 when emit said stop.
 */
static int
run_entry(struct ldapsrc_run *r, LDAPMessage *e)
{
	const struct cfg *c = r->cfg;
	struct berval	**lp;
	char		*dn;
	char		 local[MAX_LDAP_VALUE], mxid[MAX_USER_ID + 1];
	size_t		 i;
	int		 rc = 0;

	r->entries++;
	r->nseen = 0;
	if ((dn = ldap_get_dn(r->ld, e)) == NULL)
		return run_fail(r, LDAP_OTHER, "%s: an entry without a DN",
		    r->uri);
	lp = ldap_get_values_len(r->ld, e, c->ldap_localpart);
	if (lp == NULL || lp[0] == NULL) {
		r->skipped++;
		run_note(r, dn, "skipped: no %s", c->ldap_localpart);
	} else if (value_text(lp[0], local, sizeof(local)) == -1 ||
	    ldapsrc_user_id(local, c->server_name, mxid, sizeof(mxid)) ==
	    -1) {
		r->skipped++;
		run_note(r, dn, "skipped: %s is not a Matrix localpart "
		    "(lowercased: a-z 0-9 . _ = - / +)", c->ldap_localpart);
	} else if (c->n_ldap_mail == 0)
		rc = entry_addresses(r, e, dn, default_mail, mxid);
	else
		for (i = 0; i < c->n_ldap_mail && rc == 0; i++)
			rc = entry_addresses(r, e, dn, c->ldap_mail[i], mxid);
	ldap_value_free_len(lp);
	ldap_memfree(dn);
	return rc;
}

/* Notes that libldap made a connection (before any TLS handshake). */
static int
on_connect(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
    struct ldap_conncb *ctx)
{
	struct ldapsrc_run	*r = ctx->lc_arg;

	(void)ld;
	(void)sb;
	(void)srv;
	(void)addr;
	r->connected = 1;
	return 0;
}

static void
on_close(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
	(void)ld;
	(void)sb;
	(void)ctx;
}

/*
 * Fails the run for rc, an error of the connection's first operation
 * (StartTLS or the bind, what); a failure to connect after a connection
 * was made is TLS's, said so.  Returns -1.
 */
static int
connect_fail(struct ldapsrc_run *r, int rc, const char *what)
{
	const struct cfg *c = r->cfg;

	if ((rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR) &&
	    r->connected && (c->ldap_starttls ||
	    strncmp(r->uri, "ldaps://", 8) == 0))
		return run_fail(r, LDAP_SUCCESS, "%s: %s: the TLS handshake "
		    "failed: is the server's certificate signed by %s%s and "
		    "made out to the URI's host name?", r->uri, what,
		    c->ldap_ca_file == NULL ? "one of the system's CAs" :
		    "ldap_ca_file ", c->ldap_ca_file == NULL ? "" :
		    c->ldap_ca_file);
	return run_fail(r, rc, "%s: %s", r->uri, what);
}

/*
 * Connects to the configured URI and binds: the TLS settings first (the
 * certificate is always checked, against ldap_ca_file when set), then
 * StartTLS when asked, then a simple bind as ldap_bind_dn, or anonymous.
 * Returns 0, or -1 with why in the run's error.
 */
static int
run_connect(struct ldapsrc_run *r)
{
	const struct cfg *c = r->cfg;
	struct timeval	 tv = { (time_t)c->ldap_timeout, 0 };
	struct berval	 cred = { 0, NULL };
	char		 pw[MAX_LDAP_PASSWORD + 1], what[512];
	int		 v, rc;

	r->conncb.lc_add = on_connect;
	r->conncb.lc_del = on_close;
	r->conncb.lc_arg = r;
	if ((rc = ldap_initialize(&r->ld, r->uri)) != LDAP_SUCCESS)
		return run_fail(r, rc, "ldap_uri %s", r->uri);
	v = LDAP_VERSION3;
	if (ldap_set_option(r->ld, LDAP_OPT_PROTOCOL_VERSION, &v) != 0 ||
	    ldap_set_option(r->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != 0 ||
	    ldap_set_option(r->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != 0 ||
	    ldap_set_option(r->ld, LDAP_OPT_TIMEOUT, &tv) != 0 ||
	    ldap_set_option(r->ld, LDAP_OPT_CONNECT_CB, &r->conncb) != 0)
		return run_fail(r, LDAP_OTHER, "%s: cannot set the options",
		    r->uri);
	v = LDAP_OPT_X_TLS_DEMAND;
	if (ldap_set_option(r->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &v) != 0 ||
	    (c->ldap_ca_file != NULL && ldap_set_option(r->ld,
	    LDAP_OPT_X_TLS_CACERTFILE, c->ldap_ca_file) != 0))
		return run_fail(r, LDAP_OTHER, "%s: cannot set the TLS "
		    "options", r->uri);
	v = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	ldap_set_option(r->ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &v);
	v = 0;
	if (ldap_set_option(r->ld, LDAP_OPT_X_TLS_NEWCTX, &v) != 0)
		return run_fail(r, LDAP_OTHER, "%s: ldap_ca_file %s: cannot "
		    "make a TLS context of it", r->uri, c->ldap_ca_file ==
		    NULL ? "(the system's)" : c->ldap_ca_file);
	if (c->ldap_starttls && (rc = ldap_start_tls_s(r->ld, NULL, NULL)) !=
	    LDAP_SUCCESS)
		return connect_fail(r, rc, "StartTLS");
	if (c->ldap_bind_dn == NULL) {
		if ((rc = ldap_sasl_bind_s(r->ld, NULL, LDAP_SASL_SIMPLE,
		    &cred, NULL, NULL, NULL)) != LDAP_SUCCESS)
			return connect_fail(r, rc, "anonymous bind");
		return 0;
	}
	if (read_password(r, c->ldap_bind_password_file, pw, sizeof(pw)) ==
	    -1)
		return -1;
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	rc = ldap_sasl_bind_s(r->ld, c->ldap_bind_dn, LDAP_SASL_SIMPLE, &cred,
	    NULL, NULL, NULL);
	secure_wipe(pw, sizeof(pw));
	snprintf(what, sizeof(what), "bind as %s", c->ldap_bind_dn);
	return rc == LDAP_SUCCESS ? 0 : connect_fail(r, rc, what);
}

/*
 * Reads the result of the search msgid: its entries to run_entry(), its
 * final result checked, and with paging the next page's cookie into
 * *cookie (emptied when this was the last page; the caller frees it with
 * ber_memfree).  Returns 0, or -1 with why in the run's error.
 */
static int
run_results(struct ldapsrc_run *r, int msgid, struct berval *cookie)
{
	const struct cfg *c = r->cfg;
	struct timeval	 tv = { (time_t)c->ldap_timeout, 0 };
	LDAPMessage	*msg;
	LDAPControl	**ctrls = NULL, *page;
	ber_int_t	 estimate;
	char		*diag = NULL;
	int		 rc, code;

	for (;;) {
		rc = ldap_result(r->ld, msgid, LDAP_MSG_ONE, &tv, &msg);
		if (rc == 0) {
			ldap_abandon_ext(r->ld, msgid, NULL, NULL);
			return run_fail(r, LDAP_TIMEOUT, "%s: search of %s",
			    r->uri, c->ldap_base);
		}
		if (rc == -1) {
			ldap_get_option(r->ld, LDAP_OPT_RESULT_CODE, &code);
			return run_fail(r, code, "%s: search of %s", r->uri,
			    c->ldap_base);
		}
		if (rc == LDAP_RES_SEARCH_RESULT)
			break;
		if (rc == LDAP_RES_SEARCH_ENTRY && run_entry(r, msg) == -1) {
			ldap_msgfree(msg);
			ldap_abandon_ext(r->ld, msgid, NULL, NULL);
			return -1;
		}
		/* LDAP_RES_SEARCH_REFERENCE: referrals are not followed. */
		ldap_msgfree(msg);
	}
	rc = ldap_parse_result(r->ld, msg, &code, NULL, &diag, NULL, &ctrls,
	    1);
	/* The result's diagnostic message is the handle's now too. */
	if (rc != LDAP_SUCCESS || code != LDAP_SUCCESS) {
		ldap_memfree(diag);
		ldap_controls_free(ctrls);
		return run_fail(r, rc != LDAP_SUCCESS ? rc : code, "%s: search "
		    "of %s%s", r->uri, c->ldap_base, code ==
		    LDAP_SIZELIMIT_EXCEEDED && c->ldap_page_size == 0 ?
		    " without paging (ldap_page_size)" : "");
	}
	ldap_memfree(diag);
	ber_memfree(cookie->bv_val);
	cookie->bv_val = NULL;
	cookie->bv_len = 0;
	/* A server that answered a paged search whole sends no control. */
	if (c->ldap_page_size > 0 && (page = ldap_control_find(
	    LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL)) != NULL &&
	    (rc = ldap_parse_pageresponse_control(r->ld, page, &estimate,
	    cookie)) != LDAP_SUCCESS) {
		ldap_controls_free(ctrls);
		return run_fail(r, rc, "%s: search of %s: the paged results "
		    "control", r->uri, c->ldap_base);
	}
	ldap_controls_free(ctrls);
	return 0;
}

/*
 * Runs the search, page after page while the server hands out a cookie.
 * Returns 0 when every page was read, or -1 with why in the run's error.
 */
static int
run_search(struct ldapsrc_run *r)
{
	const struct cfg *c = r->cfg;
	struct timeval	 tv = { (time_t)c->ldap_timeout, 0 };
	struct berval	 cookie = { 0, NULL };
	LDAPControl	*page = NULL, *sctrls[2] = { NULL, NULL };
	char		*attrs[MAX_LIST + 2];
	size_t		 i, na = 0, pages;
	int		 rc, msgid;

	attrs[na++] = c->ldap_localpart;
	if (c->n_ldap_mail == 0)
		attrs[na++] = (char *)(uintptr_t)default_mail;
	for (i = 0; i < c->n_ldap_mail; i++)
		attrs[na++] = c->ldap_mail[i];
	attrs[na] = NULL;
	for (pages = 0; ; pages++) {
		if (pages == MAX_LDAP_PAGES) {
			ber_memfree(cookie.bv_val);
			return run_fail(r, LDAP_SUCCESS, "%s: search of %s: "
			    "over %d pages", r->uri, c->ldap_base,
			    MAX_LDAP_PAGES);
		}
		/* Critical: a server that cannot page fails the search
		 * rather than stopping at its size limit. */
		if (c->ldap_page_size > 0 && (rc = ldap_create_page_control(
		    r->ld, (ber_int_t)c->ldap_page_size, &cookie, 1, &page)) !=
		    LDAP_SUCCESS) {
			ber_memfree(cookie.bv_val);
			return run_fail(r, rc, "%s: the paged results control",
			    r->uri);
		}
		sctrls[0] = page;
		rc = ldap_search_ext(r->ld, c->ldap_base, LDAP_SCOPE_SUBTREE,
		    c->ldap_filter, attrs, 0, sctrls, NULL, &tv, LDAP_NO_LIMIT,
		    &msgid);
		ldap_control_free(page);
		page = NULL;
		if (rc != LDAP_SUCCESS) {
			ber_memfree(cookie.bv_val);
			return run_fail(r, rc, "%s: search of %s for %s",
			    r->uri, c->ldap_base, c->ldap_filter);
		}
		if (run_results(r, msgid, &cookie) == -1) {
			ber_memfree(cookie.bv_val);
			return -1;
		}
		if (cookie.bv_len == 0)
			break;
	}
	ber_memfree(cookie.bv_val);
	return 0;
}

/*
 * Reads every entry of the configured directory (cfg's ldap_* keys),
 * calling emit for each address of each entry.  Returns 0 when the whole
 * search completed (every page), -1 on any failure, with a one-line
 * reason in err (errlen bytes): wrong password, unreachable server, TLS
 * failure, size limit without paging, bad filter...  A caller must not
 * remove anything after -1.  Entries skipped and addresses refused are
 * logged (a summary line at the end when there were any).
 */
int
ldapsrc_read(const struct cfg *cfg, sync_emit_fn emit, void *arg,
    char *err, size_t errlen)
{
	struct ldapsrc_run	*r;
	int			 rc = -1;

	r = xcalloc(1, sizeof(*r));
	r->cfg = cfg;
	r->uri = cfg->ldap_uri;
	r->emit = emit;
	r->arg = arg;
	r->err = err;
	r->errlen = errlen;
	*err = '\0';
	if (cfg->ldap_uri == NULL || cfg->ldap_base == NULL) {
		run_fail(r, LDAP_SUCCESS, "no directory: ldap_uri and "
		    "ldap_base are not both set");
		goto out;
	}
	if ((cfg->ldap_bind_dn == NULL) != (cfg->ldap_bind_password_file ==
	    NULL)) {
		run_fail(r, LDAP_SUCCESS, "ldap_bind_dn and "
		    "ldap_bind_password_file go together");
		goto out;
	}
	if (cfg->ldap_starttls && strncmp(cfg->ldap_uri, "ldap://", 7) != 0) {
		run_fail(r, LDAP_SUCCESS, "ldap_starttls wants an ldap:// URI "
		    "(ldaps:// is TLS already)");
		goto out;
	}
	if (run_connect(r) == -1 || run_search(r) == -1)
		goto out;
	rc = 0;
out:
	if (r->skipped > 0 || r->refused > 0)
		log_warn("ldap: %s: %zu entries, %zu addresses; skipped %zu "
		    "entries without a valid %s and %zu addresses%s",
		    cfg->ldap_uri == NULL ? "-" : cfg->ldap_uri, r->entries,
		    r->addresses, r->skipped, cfg->ldap_localpart, r->refused,
		    r->logged > LDAPSRC_LOG_MAX ? " (the first logged "
		    "above)" : "");
	if (r->ld != NULL)
		ldap_unbind_ext_s(r->ld, NULL, NULL);
	free(r);
	return rc;
}
