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

#include <cjson/cJSON.h>

#include "app.h"
#include "b64.h"
#include "bounds.h"
#include "buf.h"
#include "db.h"
#include "email.h"
#include "fcgi.h"
#include "ident.h"
#include "invmail.h"
#include "invpolicy.h"
#include "json.h"
#include "log.h"
#include "mail.h"
#include "req.h"
#include "resp.h"
#include "sign.h"
#include "threepid.h"
#include "secret.h"
#include "util.h"

/*
 * Caps on what store-invite takes.  A string field may be as long as the
 * body allows (MAX_BODY): homeservers forward room names, avatar URLs
 * and display names as they are, and the spec sets no limit.  Only what
 * goes into the mail is cut (common/invmail).
 */
#define INVITE_MAX_ROOM_ID	255

/* 43 characters of [0-9a-zA-Z]: over 256 bits. */
#define INVITE_TOKEN_LEN	43

/* The key id under which sign-ed25519 signs with an ephemeral key. */
#define EPHEMERAL_KEY_ID	"ed25519:0"

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
	if (r->api == API_V1 && !invpolicy_v1_client(&c->cfg, r->remote_addr)) {
		resp_err(rs, MX_FORBIDDEN, "store-invite on v1 is not open to "
		    "this address; use v2");
		goto out;
	}
	if (req_args(r, &args, rs) == -1 || invite_args(r, args, &room_id,
	    &sender, address, sizeof(address), rs) == -1)
		goto out;
	if (invpolicy_blocked(&c->cfg, args, sender, room_id)) {
		resp_err(rs, MX_NOT_ALLOWED, "Invite not allowed");
		goto out;
	}
	/* Before the binding is looked up: M_THREEPID_IN_USE names the
	 * mxid, so that answer counts too. */
	if (invpolicy_limits(c->db, &c->cfg, r, sender, room_id,
	    address, rs) == -1)
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
	im = (struct invite_mail){ address, token, seed, sender, room_id,
	    req_query(r, "brand"), r->api == API_V2 };
	if (invmail_build(&c->cfg, &c->templates, args, &im, &msg) == -1) {
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
	invmail_redact_address(&c->cfg, address, &shown);
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
