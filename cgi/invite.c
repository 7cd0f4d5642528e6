/*
 * sigil-invite: email invitations for people not on Matrix yet.
 *
 * POST store-invite {medium, address, room_id, sender, ...} records an
 * invite with a fresh Ed25519 ephemeral key, mails the address a link to
 * join, and answers the token and the keys a homeserver puts in the
 * room's m.room.third_party_invite event.  The invite and its key are
 * stored in the transaction that sends the mail: a mail that cannot go
 * out leaves nothing behind, and the caller may simply try again.  So
 * that it is no mail relay, each invite is first counted against limits
 * keyed by what the caller cannot choose (client address, v2 user, room,
 * recipient address) besides the sender, v1 may be open to listed
 * clients only, and every link of the mail is an http(s) URL: the web
 * client a homeserver names only when its host is allowed.
 *
 * POST sign-ed25519 {mxid, token, private_key} signs {mxid, sender,
 * token} with the invite's ephemeral key, which the caller proves it
 * holds (the private key from the mail); that is how a client joins
 * through the link in the mail.  On v1 the fields may come in the query
 * string, as matrix-js-sdk sends them; the mail links to v1, which stays
 * served for this route when enable_v1 is false (clients send no token).
 *
 * When the address is bound later, sigil-bind attaches the pending
 * invites to the association it delivers to the homeserver (onbind).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "b64.h"
#include "bounds.h"
#include "buf.h"
#include "db.h"
#include "email.h"
#include "fcgi.h"
#include "ident.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "netrange.h"
#include "ratelimit.h"
#include "req.h"
#include "resp.h"
#include "sign.h"
#include "threepid.h"
#include "tmpl.h"
#include "secret.h"
#include "util.h"

/*
 * Caps on what store-invite takes.  A string field may be as long as the
 * body allows (MAX_BODY): homeservers forward room names, avatar URLs
 * and display names as they are, and the spec sets no limit.  Only what
 * goes into the mail is cut (below).
 */
#define INVITE_MAX_FIELDS	64	/* fields in one request */
#define INVITE_MAX_ROOM_ID	255

/* 43 characters of [0-9a-zA-Z]: over 256 bits. */
#define INVITE_TOKEN_LEN	43

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

/* The key id under which sign-ed25519 signs with an ephemeral key. */
#define EPHEMERAL_KEY_ID	"ed25519:0"

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

/* The address as the room shows it before the invitee joins. */
static void
redact_address(const struct cfg *cfg, const char *address, struct buf *out)
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

/* A room ID: "!" and printable ASCII without spaces. */
static int
room_id_valid(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 2 || n > INVITE_MAX_ROOM_ID || s[0] != '!')
		return 0;
	for (i = 1; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Checks the number of fields of the request: at most INVITE_MAX_FIELDS
 * (their length is bounded by the body's).  Returns 0, or -1 with the
 * error set.
 */
static int
fields_ok(const cJSON *args, struct resp *rs)
{
	const cJSON	*f;
	int		 n = 0;

	for (f = args->child; f != NULL; f = f->next)
		if (++n > INVITE_MAX_FIELDS) {
			resp_err(rs, MX_INVALID_PARAM, "Too many fields");
			return -1;
		}
	return 0;
}

/* The block-list's keywords, case-folded once. */
static char	*folded_keywords[MAX_LIST];
static size_t	 n_folded_keywords;
static int	 keywords_folded;

/* Whether some keyword of the block-list is in value, case-folded. */
static int
keyword_in(const struct cfg *cfg, const char *name, const char *value)
{
	char	*folded;
	size_t	 i;
	int	 hit = 0;

	if (!keywords_folded) {
		for (i = 0; i < cfg->n_invite_block_keywords; i++)
			if ((folded = utf8_casefold(
			    cfg->invite_block_keywords[i])) != NULL)
				folded_keywords[n_folded_keywords++] = folded;
		keywords_folded = 1;
	}
	/* A web client's address is not text: its scheme says nothing. */
	if (strcmp(name, "org.matrix.web_client_location") == 0) {
		if (strncmp(value, "https://", 8) == 0)
			value += 8;
		else if (strncmp(value, "http://", 7) == 0)
			value += 7;
	}
	if ((folded = utf8_casefold(value)) == NULL)
		return 0;
	for (i = 0; i < n_folded_keywords && !hit; i++)
		hit = strstr(folded, folded_keywords[i]) != NULL;
	free(folded);
	return hit;
}

/* Whether the operator refuses this invite: sender's server, room, words. */
static int
invite_blocked(const struct cfg *cfg, const cJSON *args, const char *sender,
    const char *room_id)
{
	const char	*server = ident_user_id_server(sender);
	const cJSON	*f;
	size_t		 i;

	for (i = 0; i < cfg->n_invite_block_homeservers; i++)
		if (server != NULL &&
		    strcmp(cfg->invite_block_homeservers[i], server) == 0)
			return 1;
	for (i = 0; i < cfg->n_invite_block_rooms; i++)
		if (strcmp(cfg->invite_block_rooms[i], room_id) == 0)
			return 1;
	if (cfg->n_invite_block_keywords == 0)
		return 0;
	for (f = args->child; f != NULL; f = f->next)
		if (cJSON_IsString(f) && keyword_in(cfg, f->string,
		    f->valuestring))
			return 1;
	return 0;
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

/* What the mail is built from, besides the request's own fields. */
struct invite_mail {
	const char	*address;	/* canonical */
	const char	*token;
	const char	*ephemeral_private_key;	/* URL-safe base64 seed */
	const char	*sender;
	const char	*room_id;
};

/*
 * The URL sign-ed25519 is reached at from the mail, without mxid.  It is
 * on v1 whatever enable_v1 says: clients follow it with no identity
 * server token (matrix-js-sdk posts to it as it is), the route stays
 * served when v1 is off (API_V1_ALWAYS), and the private key in it is
 * the credential.
 */
static void
sign_url(const struct ctx *c, const struct invite_mail *im, struct buf *out)
{
	buf_printf(out, "%s/_matrix/identity/api/v1/sign-ed25519?token=",
	    c->cfg.public_base_url);
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
 * Builds the invite mail into msg: the template of the request's brand,
 * with every string field of the request (made safe for a mail, display
 * names and room names cut) and what sigil adds.  Returns 0 or -1.
 */
static int
build_invite_mail(struct ctx *c, const struct req *r, const cJSON *args,
    const struct invite_mail *im, struct buf *msg)
{
	struct vars	 vs = { .n = 0 };
	struct mail_ids	 ids;
	struct buf	 t = { 0 }, sign = { 0 }, subject = { 0 }, text = { 0 };
	const cJSON	*f;
	const char	*brand = tmpl_brand(&c->templates,
			    req_query(r, "brand"));
	char		*web = web_client(&c->cfg, args);
	size_t		 i;
	int		 rc = -1;

	if (mail_ids_make(c->cfg.server_name, &ids) == -1)
		goto out;
	for (i = 0; i < sizeof(optional_fields) / sizeof(optional_fields[0]);
	    i++)
		vars_set(&vs, optional_fields[i], xstrdup(""));
	for (f = args->child; f != NULL; f = f->next) {
		if (!cJSON_IsString(f))
			continue;
		if (strcmp(f->string, "sender_display_name") == 0)
			vars_set(&vs, f->string, mail_value(f->valuestring,
			    MAIL_MAX_DISPLAY_NAME, MAIL_MAX_DISPLAY_NAME - 1));
		else if (strcmp(f->string, "room_name") == 0)
			vars_set(&vs, f->string, mail_value(f->valuestring,
			    MAIL_MAX_ROOM_NAME, MAIL_MAX_ROOM_NAME - 5));
		else if (link_name(f->string))
			/* A link is whole or not there: checked below. */
			vars_set(&vs, f->string, xstrdup(strlen(f->valuestring)
			    <= MAIL_MAX_LINK ? f->valuestring : ""));
		else
			vars_set(&vs, f->string, mail_value(f->valuestring,
			    MAIL_MAX_TEXT, MAIL_MAX_TEXT - 1));
	}
	/* The web client the homeserver named, if allowed, else ours. */
	vars_set(&vs, "org.matrix.web_client_location", xstrdup(web));
	/* What sigil computes wins over request fields of the same name. */
	vars_set(&vs, "address", xstrdup(im->address));
	vars_set(&vs, "token", xstrdup(im->token));
	vars_set(&vs, "ephemeral_private_key",
	    xstrdup(im->ephemeral_private_key));
	if (*vars_get(&vs, "room_name") != '\0')
		buf_printf(&t, "(%s) ", vars_get(&vs, "room_name"));
	vars_set(&vs, "bracketed_room_name", xstrdup(buf_str(&t)));
	buf_reset(&t);
	/* Only a v2 request proved who the sender is. */
	if (r->api == API_V2)
		buf_printf(&t, "(%s) ", im->sender);
	vars_set(&vs, "bracketed_verified_sender", xstrdup(buf_str(&t)));
	vars_set(&vs, "web_client_location", xstrdup(web));
	sign_url(c, im, &sign);
	vars_set(&vs, "sign_url", xstrdup(buf_str(&sign)));
	buf_reset(&t);
	join_link(web, im, buf_str(&sign), args, &t);
	vars_set(&vs, "join_link", xstrdup(buf_str(&t)));
	vars_set(&vs, "to", xstrdup(im->address));
	vars_set(&vs, "from", xstrdup(c->cfg.mail_from));
	vars_set(&vs, "messageid", xstrdup(ids.messageid));
	vars_set(&vs, "date", xstrdup(ids.date));
	vars_set(&vs, "multipart_boundary", xstrdup(ids.boundary));
	vars_set(&vs, "brand", xstrdup(brand));
	vars_set(&vs, "subject_header_value", xstrdup(""));
	/* One rule for every link of the mail, ours or the request's: an
	 * http(s) URL of link characters, or nothing. */
	for (i = 0; i < vs.n; i++)
		if (link_name(vs.v[i].name) && !link_ok(vs.v[i].value)) {
			if (*vs.v[i].value != '\0' && (strcmp(vs.v[i].name,
			    "join_link") == 0 || strcmp(vs.v[i].name,
			    "sign_url") == 0))
				log_warn("invite: %s is not a link a mail may "
				    "carry; check public_base_url",
				    vs.v[i].name);
			vars_set(&vs, vs.v[i].name, xstrdup(""));
		}
	if (tmpl_render(strcmp(vars_get(&vs, "room_type"), "m.space") == 0 ?
	    c->cfg.invite_subject_space : c->cfg.invite_subject, vs.v, vs.n,
	    &subject) == -1) {
		log_err("invite: the subject did not render");
		goto out;
	}
	vars_set(&vs, "subject_header_value", mail_value(buf_str(&subject), 0,
	    0));
	if (tmpl_fill(tmpl_get(&c->templates, brand, TMPL_INVITE_MAIL),
	    vs.v, vs.n, &text) == -1 || mail_finish_to(buf_str(&text),
	    im->address, msg) == -1) {
		log_err("invite: the invite template did not render to a "
		    "message");
		goto out;
	}
	rc = 0;
out:
	secure_wipe(text.data, text.len);
	buf_free(&text);
	buf_free(&subject);
	buf_free(&sign);
	buf_free(&t);
	vars_free(&vs);
	free(web);
	return rc;
}

/* The key_validity_url of a key kind ("" or "ephemeral/") for r's API. */
static void
validity_url(const struct ctx *c, const struct req *r, const char *kind,
    struct buf *out)
{
	buf_printf(out, "%s/_matrix/identity/%s/pubkey/%sisvalid",
	    c->cfg.public_base_url, r->api == API_V1 ? "api/v1" : "v2", kind);
}

static cJSON *
invite_reply(const struct ctx *c, const struct req *r, const char *token,
    const char *ephemeral_public, const char *display_name)
{
	cJSON		*reply, *keys, *k;
	struct buf	 url = { 0 };

	reply = cJSON_CreateObject();
	cJSON_AddStringToObject(reply, "token", token);
	cJSON_AddStringToObject(reply, "public_key", c->key->public_b64);
	keys = cJSON_AddArrayToObject(reply, "public_keys");
	k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "public_key", c->key->public_b64);
	validity_url(c, r, "", &url);
	cJSON_AddStringToObject(k, "key_validity_url", buf_str(&url));
	cJSON_AddItemToArray(keys, k);
	k = cJSON_CreateObject();
	cJSON_AddStringToObject(k, "public_key", ephemeral_public);
	buf_reset(&url);
	validity_url(c, r, "ephemeral/", &url);
	cJSON_AddStringToObject(k, "key_validity_url", buf_str(&url));
	cJSON_AddItemToArray(keys, k);
	cJSON_AddStringToObject(reply, "display_name", display_name);
	buf_free(&url);
	return reply;
}

/* The URL-safe form of standard unpadded base64 text, in place. */
static void
b64_to_urlsafe(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '+')
			*s = '-';
		else if (*s == '/')
			*s = '_';
}

/*
 * Checks the request's four required fields and its other fields, and
 * canonicalises the address.  Returns 0, or -1 with the error set.
 */
static int
invite_args(const struct req *r, const cJSON *args,
    const char **room_id, const char **sender, char *address, size_t len,
    struct resp *rs)
{
	const char	*medium, *raw;

	if (req_field_ok(rs, json_get_str(args, "medium", 1, MAX_BODY,
	    &medium), "medium") == -1 ||
	    req_field_ok(rs, json_get_str(args, "address", 1, MAX_BODY,
	    &raw), "address") == -1 ||
	    req_field_ok(rs, json_get_str(args, "room_id", 1, MAX_BODY,
	    room_id), "room_id") == -1 ||
	    req_field_ok(rs, json_get_str(args, "sender", 1, MAX_BODY,
	    sender), "sender") == -1 || fields_ok(args, rs) == -1)
		return -1;
	if (r->api == API_V2 && strcmp(*sender, r->user_id) != 0) {
		resp_err(rs, MX_NOT_ALLOWED, "sender is not the token's user");
		return -1;
	}
	if (strcmp(medium, "email") != 0) {
		resp_err(rs, MX_UNRECOGNIZED_MEDIUM, "Only email invites "
		    "are supported");
		return -1;
	}
	if (email_canonical(raw, address, len) == -1) {
		resp_err(rs, MX_INVALID_EMAIL, NULL);
		return -1;
	}
	if (!room_id_valid(*room_id)) {
		resp_err(rs, MX_INVALID_PARAM, "room_id is not a room ID");
		return -1;
	}
	if (!ident_user_id_valid(*sender)) {
		resp_err(rs, MX_INVALID_PARAM, "sender is not a user ID");
		return -1;
	}
	return 0;
}

/*
 * Whether the client may call v1 store-invite: any when
 * invite_v1_clients is empty, else only an address in one of its
 * ranges (the homeservers that use this server without a token).
 */
static int
v1_client_allowed(const struct cfg *cfg, const struct req *r)
{
	struct netrange	 client;
	size_t		 i;

	if (cfg->n_invite_v1_clients == 0)
		return 1;
	if (r->remote_addr == NULL || netrange_parse(r->remote_addr,
	    &client) == -1)
		return 0;
	for (i = 0; i < cfg->n_invite_v1_clients; i++)
		if (netrange_contains(&cfg->invite_v1_clients[i], client.addr))
			return 1;
	return 0;
}

/*
 * Counts the invite against every limit keyed by what the caller cannot
 * choose (client address, v2 user, room, recipient address) and the
 * sender's.  Cheapest to the caller first: a client over its own limit
 * spends nobody else's.  Returns 0, or -1 with the error (429) set.
 */
static int
invite_limits(struct ctx *c, const struct req *r, const char *sender,
    const char *room_id, const char *address, struct resp *rs)
{
	const struct {
		int			 applies;
		const char		*prefix, *key;
		const struct cfg_rate	*rate;
	} limits[] = {
		{ 1, "invite-client", r->remote_addr,
		    &c->cfg.ratelimit_invite_client },
		{ r->api == API_V2, "invite-user", r->user_id,	/* v2 only */
		    &c->cfg.ratelimit_invite_user },
		{ 1, "invite", sender, &c->cfg.ratelimit_invite_sender },
		{ 1, "invite-room", room_id, &c->cfg.ratelimit_invite_room },
		{ 1, "invite-address", address,
		    &c->cfg.ratelimit_invite_address },
	};
	struct buf	 bucket = { 0 };
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]) && rc == 0; i++) {
		if (!limits[i].applies)
			continue;
		buf_reset(&bucket);
		buf_printf(&bucket, "%s:%s", limits[i].prefix,
		    limits[i].key == NULL ? "" : limits[i].key);
		rc = ratelimit_check(c->db, buf_str(&bucket), limits[i].rate,
		    rs);
	}
	buf_free(&bucket);
	return rc;
}

/* POST store-invite. */
static void
h_store_invite(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *reply = NULL, *extra;
	const char		*room_id, *sender;
	char			 address[THREEPID_MAX_ADDRESS];
	char			 token[INVITE_TOKEN_LEN + 1];
	char			 seed[MAX_PUBLIC_KEY_B64];
	char			 public[MAX_PUBLIC_KEY_B64];
	struct sign_key		*eph = NULL;
	struct db_binding	 b = { 0 };
	struct buf		 shown = { 0 }, msg = { 0 };
	struct db_invite	 inv;
	struct invite_mail	 im;
	int64_t			 now = now_ms();
	enum db_res		 dr;

	seed[0] = '\0';
	if (r->api == API_V1 && !v1_client_allowed(&c->cfg, r)) {
		resp_err(rs, MX_FORBIDDEN, "store-invite on v1 is not open to "
		    "this address; use v2");
		goto out;
	}
	if (req_args(r, &args, rs) == -1 || invite_args(r, args, &room_id,
	    &sender, address, sizeof(address), rs) == -1)
		goto out;
	if (invite_blocked(&c->cfg, args, sender, room_id)) {
		resp_err(rs, MX_NOT_ALLOWED, "Invite not allowed");
		goto out;
	}
	/* Before the binding is looked up: M_THREEPID_IN_USE names the
	 * mxid, so that answer counts too. */
	if (invite_limits(c, r, sender, room_id, address, rs) == -1)
		goto out;
	if ((dr = db_binding_get(c->db, "email", address, &b)) == DB_ERROR) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	if (dr == DB_OK) {
		extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "mxid", b.mxid);
		resp_err_with(rs, MX_THREEPID_IN_USE, extra, NULL);
		goto out;
	}
	if (random_token(token, sizeof(token)) == -1 ||
	    sign_key_generate(EPHEMERAL_KEY_ID, &eph) == -1 ||
	    sign_key_seed_b64(eph, B64_URLSAFE, seed, sizeof(seed)) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	snprintf(public, sizeof(public), "%s", eph->public_b64);
	b64_to_urlsafe(public);
	im = (struct invite_mail){ address, token, seed, sender, room_id };
	if (build_invite_mail(c, r, args, &im, &msg) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	inv = (struct db_invite){ token, "email", address, room_id, sender,
	    public, now, now + c->cfg.invite_lifetime * 1000 };
	if (db_begin(c->db) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	if (db_invite_insert(c->db, &inv) != DB_OK) {
		db_rollback(c->db);
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	if (mail_send(address, &msg) == -1) {
		db_rollback(c->db);
		resp_err(rs, MX_EMAIL_SEND_ERROR, "The invitation could not be "
		    "mailed; nothing was stored, try again later");
		goto out;
	}
	if (db_commit(c->db) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	redact_address(&c->cfg, address, &shown);
	reply = invite_reply(c, r, token, public, buf_str(&shown));
	resp_json(rs, 200, reply);
out:
	secure_wipe(seed, sizeof(seed));
	secure_wipe(msg.data, msg.len);
	sign_key_free(eph);
	db_binding_clear(&b);
	buf_free(&shown);
	buf_free(&msg);
	cJSON_Delete(reply);
	cJSON_Delete(args);
}

/*
 * A field of sign-ed25519: from the body, or on v1 also from the query
 * string (matrix-js-sdk appends mxid to the link's token and
 * private_key and posts no body).
 */
static int
sign_field(const struct req *r, const cJSON *args, const char *name,
    size_t max, const char **out)
{
	int	 res = json_get_str(args, name, 1, max, out);

	if (res == JSON_MISSING && r->api == API_V1 &&
	    (*out = req_query(r, name)) != NULL)
		res = **out != '\0' && strlen(*out) <= max ? JSON_OK :
		    JSON_RANGE;
	return res;
}

/* Whether the seed in b64 (either alphabet, padded or not) is the
 * private half of the URL-safe unpadded public key stored. */
static int
seed_matches(const char *b64, const char *stored, struct sign_key **key)
{
	unsigned char	 seed[ED25519_SEED_LEN + 3];
	unsigned char	 want[ED25519_PUBLIC_LEN + 3], got[ED25519_PUBLIC_LEN + 3];
	size_t		 n, wn, gn;
	int		 ok = 0;

	*key = NULL;
	if (b64_decode(b64, strlen(b64), seed, sizeof(seed), &n) == -1 ||
	    n != ED25519_SEED_LEN ||
	    sign_key_from_seed(seed, EPHEMERAL_KEY_ID, key) == -1)
		goto out;
	if (b64_decode(stored, strlen(stored), want, sizeof(want), &wn) ==
	    0 && b64_decode((*key)->public_b64, strlen((*key)->public_b64),
	    got, sizeof(got), &gn) == 0 && wn == ED25519_PUBLIC_LEN &&
	    gn == wn && memcmp(want, got, wn) == 0)
		ok = 1;
out:
	secure_wipe(seed, sizeof(seed));
	if (!ok) {
		sign_key_free(*key);
		*key = NULL;
	}
	return ok;
}

/*
 * For an invite imported from sydent, which names no key: the private
 * key must be the seed of one of the ephemeral keys handed out and still
 * valid (sydent stored them URL-safe and unpadded).  DB_OK with *key.
 */
static enum db_res
imported_key(struct ctx *c, const char *b64, struct sign_key **key)
{
	unsigned char	 seed[ED25519_SEED_LEN + 3];
	char		 public[MAX_PUBLIC_KEY_B64];
	size_t		 n;
	enum db_res	 dr = DB_NOTFOUND;

	*key = NULL;
	if (b64_decode(b64, strlen(b64), seed, sizeof(seed), &n) == -1 ||
	    n != ED25519_SEED_LEN ||
	    sign_key_from_seed(seed, EPHEMERAL_KEY_ID, key) == -1)
		goto out;
	snprintf(public, sizeof(public), "%s", (*key)->public_b64);
	b64_to_urlsafe(public);
	dr = db_ephemeral_key_exists(c->db, public, now_ms());
out:
	secure_wipe(seed, sizeof(seed));
	if (dr != DB_OK) {
		sign_key_free(*key);
		*key = NULL;
	}
	return dr;
}

/* POST sign-ed25519. */
static void
h_sign(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON		*args = NULL, *signed_obj = NULL;
	const char	*mxid, *token, *private_key;
	char		*sender = NULL, *stored = NULL;
	struct sign_key	*eph = NULL;
	enum db_res	 dr;

	if (req_args(r, &args, rs) == -1 ||
	    req_field_ok(rs, sign_field(r, args, "mxid", MAX_USER_ID, &mxid),
	    "mxid") == -1 ||
	    req_field_ok(rs, sign_field(r, args, "token", MAX_OPAQUE_ID,
	    &token), "token") == -1 ||
	    req_field_ok(rs, sign_field(r, args, "private_key",
	    MAX_PUBLIC_KEY_B64, &private_key), "private_key") == -1)
		goto out;
	if (!ident_user_id_valid(mxid)) {
		resp_err(rs, MX_INVALID_PARAM, "mxid is not a valid user ID");
		goto out;
	}
	if ((dr = db_invite_get(c->db, token, now_ms(), &sender, &stored)) ==
	    DB_ERROR) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	if (dr == DB_NOTFOUND) {
		resp_err(rs, MX_UNRECOGNIZED, "Unknown or expired invite "
		    "token");
		goto out;
	}
	if (*stored == '\0' && (dr = imported_key(c, private_key, &eph)) !=
	    DB_OK) {
		resp_err(rs, dr == DB_ERROR ? MX_UNAVAILABLE : MX_INVALID_PARAM,
		    dr == DB_ERROR ? NULL : "private_key is not one of this "
		    "server's ephemeral keys");
		goto out;
	}
	if (eph == NULL && !seed_matches(private_key, stored, &eph)) {
		resp_err(rs, MX_INVALID_PARAM, "private_key is not this "
		    "invite's key");
		goto out;
	}
	signed_obj = cJSON_CreateObject();
	cJSON_AddStringToObject(signed_obj, "mxid", mxid);
	cJSON_AddStringToObject(signed_obj, "sender", sender);
	cJSON_AddStringToObject(signed_obj, "token", token);
	if (sign_json(eph, c->cfg.server_name, signed_obj) == -1) {
		resp_err(rs, MX_UNKNOWN, NULL);
		goto out;
	}
	resp_json(rs, 200, signed_obj);
out:
	sign_key_free(eph);
	free(sender);
	free(stored);
	cJSON_Delete(signed_obj);
	cJSON_Delete(args);
}

static const struct route routes[] = {
	{ METHOD_POST, API_V1 | API_V2, "store-invite", h_store_invite,
	    AUTH_USER },
	/* Served on v1 even when v1 is off: every invite mail links here. */
	{ METHOD_POST, API_V1 | API_V2 | API_V1_ALWAYS, "sign-ed25519", h_sign,
	    AUTH_USER },
};

static const struct app invite_app = {
	"sigil-invite", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .mail = &app_mail, .templates = APP_MAIL_INVITE,
	    .key = &app_key },
};

int
main(int argc, char **argv)
{
	return fcgi_main(&invite_app, argc, argv);
}
