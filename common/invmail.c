/*
 * The invite mail: the request's fields made safe for a mail, the links
 * sigil adds, the template filled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "cfg.h"
#include "http.h"
#include "invmail.h"
#include "log.h"
#include "mail.h"
#include "secret.h"
#include "tmpl.h"
#include "util.h"

/* Where display values are cut in the mail, in characters. */
#define MAIL_MAX_DISPLAY_NAME	20
#define MAIL_MAX_ROOM_NAME	30
#define MAIL_MAX_TEXT		200	/* any other field */

/*
 * What of the request the join link carries: text parameters cut to at
 * most LINK_MAX_TEXT bytes (on a character boundary), opaque ones (URLs,
 * IDs, tokens), which a cut would break, left out when longer than
 * LINK_MAX_OPAQUE bytes, and any parameter left out that would make the
 * link longer than LINK_MAX bytes, so that the link, escaped for HTML
 * in its line of the template, stays within the 998 bytes a line of
 * mail may have (RFC 5322).  A link value (a *_url field) longer than
 * MAIL_MAX_LINK bytes is left out of the mail.
 */
#define LINK_MAX_TEXT		60
#define LINK_MAX_OPAQUE		255
#define LINK_MAX		800
#define MAIL_MAX_LINK		512

/* The optional fields sydent's templates may use, empty when not sent. */
static const char *const optional_fields[] = {
	"room_alias", "room_avatar_url", "room_join_rules", "room_name",
	"room_type", "sender_display_name", "sender_avatar_url",
	"guest_user_id", "guest_access_token",
};

/* Bytes in the UTF-8 sequence that starts with byte c (1 for a stray). */
static size_t
utf8_seq_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* Characters (code points) in the UTF-8 text s of n bytes. */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t	 i, count = 0;

	for (i = 0; i < n; i += utf8_seq_len((unsigned char)s[i]))
		count++;
	return count;
}

/* Appends the first chars characters of the UTF-8 text s (n bytes). */
static void
utf8_put_prefix(struct buf *out, const char *s, size_t n, size_t chars)
{
	size_t	 i = 0;

	while (i < n && chars-- > 0)
		i += utf8_seq_len((unsigned char)s[i]);
	buf_append(out, s, i < n ? i : n);
}

/*
 * Bytes of the longest prefix of the UTF-8 text s (n bytes) that is at
 * most max bytes long and ends on a character boundary.
 */
static size_t
utf8_cut_bytes(const char *s, size_t n, size_t max)
{
	size_t	 i = 0, next;

	while (i < n) {
		next = i + utf8_seq_len((unsigned char)s[i]);
		if (next > max || next > n)
			break;
		i = next;
	}
	return i;
}

/*
 * Appends one part of an address as display_name shows it: the first
 * keep characters and "...", or, for a part not longer than keep, less
 * of it, so that a short part is never shown whole.
 */
static void
redact_part(struct buf *out, const char *s, size_t n, size_t keep)
{
	size_t	 chars = utf8_chars(s, n);

	if (chars > keep)
		utf8_put_prefix(out, s, n, keep);
	else if (chars > 5)
		utf8_put_prefix(out, s, n, 3);
	else if (chars > 1)
		utf8_put_prefix(out, s, n, 1);
	buf_puts(out, "...");
}

/*
 * Appends to out the address as the room shows it before the invitee
 * joins (the display_name of store-invite's answer).
 */
void
invmail_redact_address(const struct cfg *cfg, const char *address,
    struct buf *out)
{
	const char	*at = strrchr(address, '@');

	if (at == NULL) {		/* canonical addresses have one */
		buf_puts(out, "...");
		return;
	}
	redact_part(out, address, (size_t)(at - address),
	    (size_t)cfg->invite_redact_local);
	buf_putc(out, '@');
	redact_part(out, at + 1, strlen(at + 1),
	    (size_t)cfg->invite_redact_domain);
}

/*
 * Copies a request value for the mail: control characters (CR and LF
 * among them) become spaces, and text longer than max characters (0: no
 * limit) is cut to cut characters and an ellipsis.
 */
static char *
mail_value(const char *s, size_t max, size_t cut)
{
	struct buf	 b = { 0 };
	size_t		 n = strlen(s), i;
	char		*out;

	if (max > 0 && utf8_chars(s, n) > max) {
		utf8_put_prefix(&b, s, n, cut);
		buf_puts(&b, "\xe2\x80\xa6");		/* U+2026 */
	} else
		buf_append(&b, s, n);
	out = xstrdup(buf_str(&b));
	buf_free(&b);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return out;
}

/*
 * Whether s may be a link in a mail: http:// or https://, a host, and
 * nothing but the characters of RFC 3986 (no space, quote, angle
 * bracket, backslash, control or non-ASCII byte).  Every other scheme
 * (javascript:, data:, ...) fails.
 */
static int
link_ok(const char *s)
{
	static const char	 extra[] = "-._~:/?#[]@!$&'()*+,;=%";
	const char		*host;

	if ((host = http_url_host(s)) == NULL || *host == '\0' ||
	    *host == '/' || *host == '?' || *host == '#')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

/* Whether a template variable holds a link: *_url, *_link, *_location. */
static int
link_name(const char *name)
{
	static const char *const suffixes[] = { "_url", "_link", "_location" };
	size_t	 i, n = strlen(name), k;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		k = strlen(suffixes[i]);
		if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

/* Length of the authority (host[:port]) of the http(s) URL s at host. */
static size_t
authority_len(const char *host)
{
	return strcspn(host, "/?#");
}

/*
 * Whether the web client a homeserver names (org.matrix.web_client_location)
 * may be the mail's link target: an https:// URL of link characters, no
 * user part, a path at most (no query or fragment), whose host[:port]
 * is in invite_web_client_hosts (by default, invite_web_client's).
 */
static int
web_client_allowed(const struct cfg *cfg, const char *s)
{
	const char	*host = s + 8, *deflt;
	size_t		 n, i;

	if (strncmp(s, "https://", 8) != 0 || !link_ok(s) ||
	    strlen(s) > MAIL_MAX_LINK)
		return 0;
	n = authority_len(host);
	if (memchr(host, '@', n) != NULL || strpbrk(host + n, "?#") != NULL)
		return 0;
	for (i = 0; i < cfg->n_invite_web_client_hosts; i++)
		if (strlen(cfg->invite_web_client_hosts[i]) == n &&
		    strncasecmp(cfg->invite_web_client_hosts[i], host, n) == 0)
			return 1;
	if (cfg->n_invite_web_client_hosts > 0 ||
	    (deflt = strstr(cfg->invite_web_client, "://")) == NULL)
		return 0;
	deflt += 3;
	return authority_len(deflt) == n && strncasecmp(deflt, host, n) == 0;
}

/*
 * The web client the mail links to, owned by the caller: the request's
 * org.matrix.web_client_location when allowed, else invite_web_client;
 * without a trailing '/'.
 */
static char *
web_client(const struct cfg *cfg, const cJSON *args)
{
	const cJSON	*f;
	char		*out;
	size_t		 n;

	f = cJSON_GetObjectItemCaseSensitive(args,
	    "org.matrix.web_client_location");
	out = xstrdup(cJSON_IsString(f) && web_client_allowed(cfg,
	    f->valuestring) ? f->valuestring : cfg->invite_web_client);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

/*
 * The URL sign-ed25519 is reached at from the mail, without mxid.  It is
 * on v1 whatever enable_v1 says: clients follow it with no identity
 * server token (matrix-js-sdk posts to it as it is), the route stays
 * served when v1 is off (API_V1_ALWAYS), and the private key in it is
 * the credential.
 */
static void
sign_url(const struct cfg *cfg, const struct invite_mail *im,
    struct buf *out)
{
	buf_printf(out, "%s/_matrix/identity/api/v1/sign-ed25519?token=",
	    cfg->public_base_url);
	buf_put_urlencoded(out, im->token);
	buf_puts(out, "&private_key=");
	buf_put_urlencoded(out, im->ephemeral_private_key);
}

/*
 * The web client's link that joins the room, as Element reads it; the
 * request's values in it are cut or left out as LINK_MAX_* say.
 */
static void
join_link(const char *web_client, const struct invite_mail *im,
    const char *sign, const cJSON *args, struct buf *out)
{
	static const struct {
		const char	*param;
		const char	*field;
		int		 text;		/* cut, else left out if long */
	} passed[] = {
		{ "room_name", "room_name", 1 },
		{ "room_avatar_url", "room_avatar_url", 0 },
		{ "inviter_name", "sender_display_name", 1 },
		{ "guest_access_token", "guest_access_token", 0 },
		{ "guest_user_id", "guest_user_id", 0 },
		{ "room_type", "room_type", 1 },
	};
	const cJSON	*f;
	struct buf	 v = { 0 }, p = { 0 };
	size_t		 i, n;

	buf_printf(out, "%s/#/room/", web_client);
	buf_put_urlencoded(out, im->room_id);
	buf_puts(out, "?email=");
	buf_put_urlencoded(out, im->address);
	buf_puts(out, "&signurl=");
	buf_put_urlencoded(out, sign);
	for (i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		f = cJSON_GetObjectItemCaseSensitive(args, passed[i].field);
		buf_reset(&p);
		buf_printf(&p, "&%s=", passed[i].param);
		if (cJSON_IsString(f)) {
			n = strlen(f->valuestring);
			if (passed[i].text)
				n = utf8_cut_bytes(f->valuestring, n,
				    LINK_MAX_TEXT);
			else if (n > LINK_MAX_OPAQUE)
				n = 0;
			buf_reset(&v);
			buf_append(&v, f->valuestring, n);
			buf_put_urlencoded(&p, buf_str(&v));
		}
		if (out->len + p.len <= LINK_MAX)
			buf_append(out, p.data, p.len);
	}
	buf_free(&v);
	buf_free(&p);
}

/* Template variables: names and values, values owned. */
struct vars {
	struct tmpl_var	 v[INVITE_MAX_FIELDS + 32];
	char		*owned[INVITE_MAX_FIELDS + 32];
	size_t		 n;
};

/* Sets name to value (copied as is), replacing an earlier value. */
static void
vars_set(struct vars *vs, const char *name, char *value)
{
	size_t	 i;

	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0) {
			free(vs->owned[i]);
			vs->owned[i] = value;
			vs->v[i].value = value;
			return;
		}
	if (vs->n == sizeof(vs->v) / sizeof(vs->v[0])) {
		free(value);
		return;
	}
	vs->v[vs->n].name = name;
	vs->v[vs->n].value = value;
	vs->owned[vs->n++] = value;
}

static void
vars_free(struct vars *vs)
{
	size_t	 i;

	for (i = 0; i < vs->n; i++)
		free(vs->owned[i]);
	vs->n = 0;
}

static const char *
vars_get(const struct vars *vs, const char *name)
{
	size_t	 i;

	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return vs->v[i].value;
	return "";
}

/*
 * Sets a variable for every string field of the request args, made safe
 * for a mail (display names and room names cut), and the optional fields
 * templates may use, empty when not sent.
 */
static void
vars_from_request(struct vars *vs, const cJSON *args)
{
	const cJSON	*f;
	size_t		 i;

	for (i = 0; i < sizeof(optional_fields) / sizeof(optional_fields[0]);
	    i++)
		vars_set(vs, optional_fields[i], xstrdup(""));
	for (f = args->child; f != NULL; f = f->next) {
		if (!cJSON_IsString(f))
			continue;
		if (strcmp(f->string, "sender_display_name") == 0)
			vars_set(vs, f->string, mail_value(f->valuestring,
			    MAIL_MAX_DISPLAY_NAME, MAIL_MAX_DISPLAY_NAME - 1));
		else if (strcmp(f->string, "room_name") == 0)
			vars_set(vs, f->string, mail_value(f->valuestring,
			    MAIL_MAX_ROOM_NAME, MAIL_MAX_ROOM_NAME - 5));
		else if (link_name(f->string))
			/* A link is whole or not there: checked later. */
			vars_set(vs, f->string, xstrdup(strlen(f->valuestring)
			    <= MAIL_MAX_LINK ? f->valuestring : ""));
		else
			vars_set(vs, f->string, mail_value(f->valuestring,
			    MAIL_MAX_TEXT, MAIL_MAX_TEXT - 1));
	}
}

/*
 * Sets what sigil computes, which wins over request fields of the same
 * name: the invite's own values (im), the links to the web client web
 * and to sign-ed25519, and the message's header values (ids).
 */
static void
vars_ours(struct vars *vs, const struct cfg *cfg, const cJSON *args,
    const struct invite_mail *im, const char *web,
    const struct mail_ids *ids)
{
	struct buf	 t = { 0 }, sign = { 0 };

	/* The web client the homeserver named, if allowed, else ours. */
	vars_set(vs, "org.matrix.web_client_location", xstrdup(web));
	vars_set(vs, "address", xstrdup(im->address));
	vars_set(vs, "token", xstrdup(im->token));
	vars_set(vs, "ephemeral_private_key",
	    xstrdup(im->ephemeral_private_key));
	if (*vars_get(vs, "room_name") != '\0')
		buf_printf(&t, "(%s) ", vars_get(vs, "room_name"));
	vars_set(vs, "bracketed_room_name", xstrdup(buf_str(&t)));
	buf_reset(&t);
	/* Only a v2 request proved who the sender is. */
	if (im->sender_verified)
		buf_printf(&t, "(%s) ", im->sender);
	vars_set(vs, "bracketed_verified_sender", xstrdup(buf_str(&t)));
	vars_set(vs, "web_client_location", xstrdup(web));
	sign_url(cfg, im, &sign);
	vars_set(vs, "sign_url", xstrdup(buf_str(&sign)));
	buf_reset(&t);
	join_link(web, im, buf_str(&sign), args, &t);
	vars_set(vs, "join_link", xstrdup(buf_str(&t)));
	vars_set(vs, "to", xstrdup(im->address));
	vars_set(vs, "from", xstrdup(cfg->mail_from));
	vars_set(vs, "messageid", xstrdup(ids->messageid));
	vars_set(vs, "date", xstrdup(ids->date));
	vars_set(vs, "multipart_boundary", xstrdup(ids->boundary));
	vars_set(vs, "subject_header_value", xstrdup(""));
	buf_free(&sign);
	buf_free(&t);
}

/*
 * One rule for every link of the mail, ours or the request's: an
 * http(s) URL of link characters, or nothing.
 */
static void
vars_check_links(struct vars *vs)
{
	size_t	 i;

	for (i = 0; i < vs->n; i++)
		if (link_name(vs->v[i].name) && !link_ok(vs->v[i].value)) {
			if (*vs->v[i].value != '\0' && (strcmp(vs->v[i].name,
			    "join_link") == 0 || strcmp(vs->v[i].name,
			    "sign_url") == 0))
				log_warn("invite: %s is not a link a mail may "
				    "carry; check public_base_url",
				    vs->v[i].name);
			vars_set(vs, vs->v[i].name, xstrdup(""));
		}
}

/*
 * Builds the invite mail into msg: the template of im's brand among
 * templates, with every string field of the request args (made safe for
 * a mail, display names and room names cut) and what sigil adds.
 * Returns 0 or -1 (logged).
 */
int
invmail_build(const struct cfg *cfg, const struct tmpl_set *templates,
    const cJSON *args, const struct invite_mail *im, struct buf *msg)
{
	struct vars	 vs = { .n = 0 };
	struct mail_ids	 ids;
	struct buf	 subject = { 0 }, text = { 0 };
	const char	*brand = tmpl_brand(templates, im->brand);
	char		*web = web_client(cfg, args);
	int		 rc = -1;

	if (mail_ids_make(cfg->server_name, &ids) == -1)
		goto out;
	vars_from_request(&vs, args);
	vars_ours(&vs, cfg, args, im, web, &ids);
	vars_set(&vs, "brand", xstrdup(brand));
	vars_check_links(&vs);
	if (tmpl_render(strcmp(vars_get(&vs, "room_type"), "m.space") == 0 ?
	    cfg->invite_subject_space : cfg->invite_subject, vs.v, vs.n,
	    &subject) == -1) {
		log_err("invite: the subject did not render");
		goto out;
	}
	vars_set(&vs, "subject_header_value", mail_value(buf_str(&subject), 0,
	    0));
	if (tmpl_fill(tmpl_get(templates, brand, TMPL_INVITE_MAIL), vs.v,
	    vs.n, &text) == -1 || mail_finish_to(buf_str(&text), im->address,
	    msg) == -1) {
		log_err("invite: the invite template did not render to a "
		    "message");
		goto out;
	}
	rc = 0;
out:
	secure_wipe(text.data, text.len);
	buf_free(&text);
	buf_free(&subject);
	vars_free(&vs);
	free(web);
	return rc;
}
