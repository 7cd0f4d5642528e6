/*
 * sigil-lookup: who is behind a 3PID.
 *
 * v1 GET lookup?medium&address answers the signed association (exactly
 * its seven fields) or {}: with the signature bind stored when the
 * current key made it, else signed now.  v1 POST bulk_lookup
 * {threepids: [[medium, address], ...]} answers {threepids: [[medium,
 * address, mxid], ...]} for the bound ones.  v2 GET hash_details gives
 * the pepper and the algorithms; v2 POST lookup {algorithm, pepper,
 * addresses} answers {mappings: {<as sent>: mxid}}, for "sha256"
 * (URL-safe unpadded base64 of SHA-256 of "<address> <medium>
 * <pepper>", computed at bind time and indexed) and, unless switched
 * off, "none" ("<address> <medium>").
 * Every list is looked up in one query, whatever its length up to
 * lookup_max_addresses.  Bindings and the pepper are read through
 * database_replica when it is set; the v2 gate reads the primary, where
 * a token registered a moment ago already is.
 * Lookups are rate-limited in addresses (a list of 500 counts 500), per
 * client address on v1 (ratelimit_lookup_ip) and per user on v2
 * (ratelimit_lookup_user), on the primary: v2 takes from its limit in
 * the query that asks the gate and looks up, unless a lease of this
 * worker (common/ratelimit.c) covers the request.  A refused lookup
 * answers 429 and looks nothing up.  On v2 a request without a valid
 * token is told so before anything about its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "buf.h"
#include "canon.h"
#include "clientnet.h"
#include "db.h"
#include "fcgi.h"
#include "json.h"
#include "metrics.h"
#include "ratelimit.h"
#include "req.h"
#include "resp.h"
#include "sign.h"
#include "threepid.h"
#include "util.h"

/*
 * The most addresses one lookup may carry: lookup_max_addresses, or less
 * when the limit rate (if on) is smaller, since a longer list could never
 * be taken.
 */
static size_t
lookup_cap(const struct ctx *c, const struct cfg_rate *rate)
{
	int64_t	 cap = c->cfg.lookup_max_addresses;

	if (rate->count > 0 && rate->count < cap)
		cap = rate->count;
	return (size_t)cap;
}

/*
 * Takes n addresses from the v1 limit of the client's network
 * (clientnet.h).  Returns 0, or -1 with 429 (or 503) in rs.
 */
static int
v1_limit(struct ctx *c, const struct req *r, size_t n, struct resp *rs)
{
	struct buf	 bucket = { 0 };
	char		 client[CLIENTNET_KEY_MAX];
	int		 rc;

	if (c->cfg.ratelimit[RATELIMIT_LOOKUP_IP].count == 0 || n == 0)
		return 0;
	(void)clientnet_key(r->remote_addr, (int)c->cfg.client_ipv6_prefix,
	    client, sizeof(client));
	buf_printf(&bucket, "lookup:ip:%s", client);
	rc = ratelimit_take(c->db, buf_str(&bucket),
	    &c->cfg.ratelimit[RATELIMIT_LOOKUP_IP], (int64_t)n, rs);
	buf_free(&bucket);
	return rc;
}

/* GET v1 lookup?medium&address. */
static void
h_lookup_v1(struct ctx *c, const struct req *r, struct resp *rs)
{
	const char		*medium, *address;
	char			 canon[THREEPID_MAX_ADDRESS];
	struct db_binding	 b;
	cJSON			*o = NULL;
	int			 rc;

	memset(&b, 0, sizeof(b));
	medium = req_query(r, "medium");
	address = req_query(r, "address");
	if (medium == NULL || address == NULL) {
		resp_err(rs, MX_MISSING_PARAMS, "medium and address are "
		    "required");
		return;
	}
	if (v1_limit(c, r, 1, rs) == -1)
		return;
	if (threepid_canonical(medium, address, canon, sizeof(canon)) == -1) {
		resp_json_text(rs, 200, "{}");	/* nothing could be bound */
		return;
	}
	switch (db_binding_get(c->db_read, medium, canon, &b)) {
	case DB_OK:
		break;
	case DB_NOTFOUND:
		resp_json_text(rs, 200, "{}");
		return;
	case DB_CONFLICT:
	case DB_ERROR:
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return;
	}
	o = threepid_association(medium, canon, b.mxid, b.ts, b.not_before,
	    b.not_after);
	/* The signature bind stored, when the current key made it. */
	if (b.signed_by > 0 && b.signature[0] != '\0' &&
	    b.signed_by == app_key_ref(c))
		rc = sign_json_add(o, c->cfg.server_name, c->key->id,
		    b.signature);
	else
		rc = sign_json(c->key, c->cfg.server_name, o);
	if (rc == -1)
		resp_err(rs, MX_UNKNOWN, NULL);
	else
		resp_json(rs, 200, o);
	cJSON_Delete(o);
	db_binding_clear(&b);
}

/* The canonical pairs of a lookup, and where each came from. */
struct pairs {
	const char	**media;	/* borrowed from the request tree */
	char		**addresses;	/* canonical; owned */
	const cJSON	**sent;		/* the entry or string as sent */
	size_t		  n;
};

static void
pairs_add(struct pairs *p, size_t max, const char *medium, const char *addr,
    const cJSON *sent)
{
	char	 canon[THREEPID_MAX_ADDRESS];

	if (threepid_canonical(medium, addr, canon, sizeof(canon)) == -1)
		return;			/* cannot be bound: no match */
	if (p->media == NULL) {
		p->media = xreallocarray(NULL, max, sizeof(*p->media));
		p->addresses = xreallocarray(NULL, max, sizeof(*p->addresses));
		p->sent = xreallocarray(NULL, max, sizeof(const cJSON *));
	}
	p->media[p->n] = medium;
	p->addresses[p->n] = xstrdup(canon);
	p->sent[p->n++] = sent;
}

static void
pairs_free(struct pairs *p)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		free(p->addresses[i]);
	free(p->media);
	free(p->addresses);
	free(p->sent);
	memset(p, 0, sizeof(*p));
}

/* POST v1 bulk_lookup. */
static void
h_bulk_lookup(struct ctx *c, const struct req *r, struct resp *rs)
{
	cJSON			*args = NULL, *o = NULL, *list, *row;
	const cJSON		*threepids, *e, *m, *a;
	struct pairs		 p = { 0 };
	struct db_matches	 found = { 0 };
	enum json_res		 jr;
	size_t			 i, cap;

	if (req_args(r, &args, rs) == -1)
		goto out;
	cap = lookup_cap(c, &c->cfg.ratelimit[RATELIMIT_LOOKUP_IP]);
	if ((jr = json_get_array(args, "threepids", cap, &threepids)) ==
	    JSON_RANGE) {
		resp_err(rs, MX_TOO_MANY, "At most %zu threepids", cap);
		goto out;
	}
	if (req_field_ok(rs, jr, "threepids") == -1)
		goto out;
	for (e = threepids->child; e != NULL; e = e->next) {
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 ||
		    !cJSON_IsString(m = e->child) ||
		    !cJSON_IsString(a = m->next)) {
			resp_err(rs, MX_INVALID_PARAM, "Each of threepids must "
			    "be [medium, address]");
			goto out;
		}
		pairs_add(&p, (size_t)cJSON_GetArraySize(threepids),
		    m->valuestring, a->valuestring, e);
	}
	if (v1_limit(c, r, (size_t)cJSON_GetArraySize(threepids), rs) == -1)
		goto out;
	if (p.n > 0 && db_lookup_pairs(c->db_read, p.media,
	    (const char *const *)p.addresses, p.n, NULL, &found) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	o = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(o, "threepids");
	for (i = 0; i < found.n; i++) {
		e = p.sent[found.index[i] - 1];
		row = cJSON_CreateArray();
		cJSON_AddItemToArray(row, cJSON_CreateString(
		    e->child->valuestring));
		cJSON_AddItemToArray(row, cJSON_CreateString(
		    e->child->next->valuestring));
		cJSON_AddItemToArray(row, cJSON_CreateString(found.mxid[i]));
		cJSON_AddItemToArray(list, row);
	}
	resp_json(rs, 200, o);
out:
	cJSON_Delete(o);
	db_matches_clear(&found);
	pairs_free(&p);
	cJSON_Delete(args);
}

/* GET v2 hash_details. */
static void
h_hash_details(struct ctx *c, const struct req *r, struct resp *rs)
{
	char	*pepper = NULL;
	cJSON	*o, *algs;

	if (!r->gate_passed) {
		/* The gate's question and the pepper in one query. */
		struct db_auth_check	 auth = app_gate_question(c, r);
		enum db_res		 dr;

		dr = db_pepper_authed(c->db, &auth, &pepper);
		free(auth.user_id);
		if (app_gate_decide(c, AUTH_USER, dr, auth.agreed, rs) == -1) {
			free(pepper);
			return;
		}
	} else if (db_pepper(c->db_read, &pepper) != DB_OK) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "lookup_pepper", pepper);
	algs = cJSON_AddArrayToObject(o, "algorithms");
	if (c->cfg.lookup_allow_none)
		cJSON_AddItemToArray(algs, cJSON_CreateString("none"));
	cJSON_AddItemToArray(algs, cJSON_CreateString("sha256"));
	resp_json(rs, 200, o);
	cJSON_Delete(o);
	free(pepper);
}

/*
 * Splits a "none" entry "<address> <medium>" at its last space; returns
 * the medium (borrowed) and writes the address to addr, or NULL.
 */
static const char *
split_none(const char *s, char *addr, size_t addrsz)
{
	const char	*sp = strrchr(s, ' ');
	size_t		 n;

	if (sp == NULL || sp == s || sp[1] == '\0')
		return NULL;
	n = (size_t)(sp - s);
	if (n >= addrsz)
		return NULL;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return sp + 1;
}

/* A found address as sent, and its user: sorted to drop repeats. */
struct mapping {
	const char	*sent;
	const char	*mxid;
};

static int
mapping_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mapping *)a)->sent,
	    ((const struct mapping *)b)->sent);
}

/* A string and its first 8 bytes as a big-endian number (0 past its
 * end), which orders as strcmp() orders the strings' starts. */
struct keyed {
	uint64_t	 prefix;
	const char	*s;
};

static int
keyed_cmp(const void *a, const void *b)
{
	const struct keyed	*x = a, *y = b;

	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return strcmp(x->s, y->s);
}

/*
 * Sorts the n strings of v by strcmp and drops repeats; returns how many
 * are left.  The lookup hash's collation is "C" (sql/011_*), so this is
 * the index's order: a list sent sorted is probed in index order.  The
 * sort compares numbers, not strings, while the first 8 bytes differ
 * (they do for all but a few of 10,000 random hashes).
 */
static size_t
sort_unique(const char **v, size_t n)
{
	struct keyed	*k;
	size_t		 i, j, m;

	k = xreallocarray(NULL, n + 1, sizeof(*k));
	for (i = 0; i < n; i++) {
		k[i].s = v[i];
		k[i].prefix = 0;
		for (j = 0; j < 8 && v[i][j] != '\0'; j++)
			k[i].prefix |= (uint64_t)(unsigned char)v[i][j] <<
			    (8 * (7 - j));
	}
	qsort(k, n, sizeof(*k), keyed_cmp);
	for (i = 0, m = 0; i < n; i++)
		if (m == 0 || strcmp(v[m - 1], k[i].s) != 0)
			v[m++] = k[i].s;
	free(k);
	return m;
}

/* A v2 lookup's input, as read from its body. */
struct v2_lookup {
	const char	 *algorithm, *pepper;	/* borrowed from the body */
	int		  none;			/* algorithm "none" */
	size_t		  want;			/* addresses sent */
	const char	**hashes;		/* sha256: the n hashes, sorted, */
	size_t		  n;			/* each once, as sent */
	struct pairs	  p;			/* none: medium, address */
};

static void
v2_lookup_free(struct v2_lookup *q)
{
	pairs_free(&q->p);
	free(q->hashes);
}

/*
 * Reads the body args of a v2 lookup into *q, which owns what it
 * allocates (v2_lookup_free) and borrows the strings from args.  Returns
 * 0, or -1 with the refusal in rs.
 */
static int
v2_lookup_parse(const struct ctx *c, const cJSON *args,
    const struct cfg_rate *lim, struct v2_lookup *q, struct resp *rs)
{
	const cJSON	*addresses, *e;
	const char	*medium;
	char		 addr[THREEPID_MAX_ADDRESS + 1];
	enum json_res	 jr;
	size_t		 cap;

	if (req_field_ok(rs, json_get_str(args, "algorithm", 1, 64,
	    &q->algorithm), "algorithm") == -1 ||
	    req_field_ok(rs, json_get_str(args, "pepper", 0, 1024,
	    &q->pepper), "pepper") == -1)
		return -1;
	cap = lookup_cap(c, lim);
	if ((jr = json_get_array(args, "addresses", cap, &addresses)) ==
	    JSON_RANGE) {
		resp_err(rs, MX_TOO_MANY, "At most %zu addresses", cap);
		return -1;
	}
	if (req_field_ok(rs, jr, "addresses") == -1)
		return -1;
	q->none = strcmp(q->algorithm, "none") == 0;
	if (!(q->none && c->cfg.lookup_allow_none) &&
	    strcmp(q->algorithm, "sha256") != 0) {
		resp_err(rs, MX_INVALID_PARAM, "Unsupported algorithm: see "
		    "hash_details");
		return -1;
	}
	/* Sized to the list, not to the cap: a list of one must not cost a
	 * mapping of 80 KiB (see BIG_REQUEST in common/fcgi.c). */
	q->want = (size_t)cJSON_GetArraySize(addresses);
	q->hashes = xreallocarray(NULL, q->want + 1, sizeof(*q->hashes));
	for (e = addresses->child; e != NULL; e = e->next) {
		if (!cJSON_IsString(e)) {
			resp_err(rs, MX_INVALID_PARAM, "addresses must be a "
			    "list of strings");
			return -1;
		}
		if (!q->none)
			q->hashes[q->n++] = e->valuestring;
		else if ((medium = split_none(e->valuestring, addr,
		    sizeof(addr))) != NULL)
			pairs_add(&q->p, q->want, medium, addr, e);
	}
	/* A hash is its own key in the answer: sorted, each once, the
	 * probes follow the index and the answer's keys come in order. */
	q->n = sort_unique(q->hashes, q->n);
	return 0;
}

/*
 * Asks the gate (unless passed), takes from the user's limit lim and
 * looks q up into *found.  Returns 0, or -1 with the refusal in rs.
 */
static int
v2_lookup_find(struct ctx *c, const struct req *r,
    const struct cfg_rate *lim, const struct v2_lookup *q,
    struct db_matches *found, struct resp *rs)
{
	struct db_rate	 rate = { lim->seconds * 1000, lim->count, 0, 0, 0,
			    0, 0 };
	struct buf	 bucket = { 0 };
	enum db_res	 dr;
	int		 rc = -1;

	rate.cost = (int64_t)q->want;
	if (!r->gate_passed) {
		/* The gate's question and, unless a lease of this worker
		 * covers the request (common/ratelimit.c), the user's limit
		 * ride in the lookup's own query. */
		struct db_auth_check	 auth = app_gate_question(c, r);
		struct db_rate		*ask = NULL;
		int64_t			 asked = now_ms();

		buf_printf(&bucket, "lookup:token:%s", r->token_hash);
		if (lim->count > 0 && q->want > 0 &&
		    !ratelimit_lease_spend(buf_str(&bucket), rate.cost)) {
			rate.want = ratelimit_want(lim, rate.cost);
			ask = &rate;
		}
		dr = q->none ? db_lookup_authed(c->db, &auth, ask, q->p.media,
		    (const char *const *)q->p.addresses, q->p.n, q->pepper,
		    found) : db_lookup_authed(c->db, &auth, ask, NULL,
		    q->hashes, q->n, q->pepper, found);
		free(auth.user_id);
		if (app_gate_decide(c, AUTH_USER, dr, auth.agreed, rs) == -1)
			goto out;
		if (ask != NULL && rate.granted == 0) {
			metrics_refused(lim->limit);
			ratelimit_refuse(rs, rate.retry_after_ms);
			goto out;
		}
		if (ask != NULL)
			ratelimit_lease_keep(buf_str(&bucket), rate.cost, &rate,
			    asked);
	} else {
		/* Behind a read replica: the limit on the primary first. */
		buf_printf(&bucket, "lookup:user:%s", r->user_id);
		if (ratelimit_take(c->db, buf_str(&bucket), lim, rate.cost,
		    rs) == -1)
			goto out;
		dr = q->none ? db_lookup_pairs(c->db_read, q->p.media,
		    (const char *const *)q->p.addresses, q->p.n, q->pepper,
		    found) : db_lookup_hashes(c->db_read, q->hashes, q->n,
		    q->pepper, found);
		if (dr != DB_OK) {
			resp_err(rs, MX_UNAVAILABLE, NULL);
			goto out;
		}
	}
	if (found->pepper == NULL) {
		resp_err(rs, MX_UNAVAILABLE, NULL);
		goto out;
	}
	rc = 0;
out:
	buf_free(&bucket);
	return rc;
}

/* Returns 1 when the m mappings are in strcmp order of what was sent. */
static int
mappings_sorted(const struct mapping *maps, size_t m)
{
	size_t	 i;

	for (i = 1; i < m; i++)
		if (strcmp(maps[i - 1].sent, maps[i].sent) > 0)
			return 0;
	return 1;
}

/*
 * Answers the lookup q with what it found: M_INVALID_PEPPER for a pepper
 * not the current one, else {mappings: {<as sent>: mxid}}, written
 * straight into the reply (a list of 10,000 would otherwise be a tree of
 * 10,000 members, sorted again by the canonical writer).
 */
static void
v2_lookup_answer(const struct v2_lookup *q, const struct db_matches *found,
    struct resp *rs)
{
	struct mapping	*maps;
	const cJSON	*e;
	cJSON		*extra;
	struct buf	*out;
	size_t		 i, m;

	if (strcmp(found->pepper, q->pepper) != 0) {
		extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "algorithm", q->algorithm);
		cJSON_AddStringToObject(extra, "lookup_pepper", found->pepper);
		resp_err_with(rs, MX_INVALID_PEPPER, extra, "Unknown or "
		    "invalid pepper: see hash_details");
		return;
	}
	maps = xreallocarray(NULL, found->n + 1, sizeof(*maps));
	for (i = 0, m = 0; i < found->n; i++) {
		if (q->none) {
			e = q->p.sent == NULL ? NULL :
			    q->p.sent[found->index[i] - 1];
			if (e == NULL)
				continue;
			maps[m].sent = e->valuestring;
		} else
			maps[m].sent = q->hashes[found->index[i] - 1];
		maps[m++].mxid = found->mxid[i];
	}
	/* Canonical JSON: keys in order, each once.  Hashes were sent
	 * sorted and come back so; "none" entries may need sorting, and an
	 * address sent twice (or two spellings of one) is one key. */
	if (!mappings_sorted(maps, m))
		qsort(maps, m, sizeof(*maps), mapping_cmp);
	out = resp_json_body(rs, 200);
	buf_puts(out, "{\"mappings\":{");
	for (i = 0; i < m; i++) {
		if (i > 0 && strcmp(maps[i - 1].sent, maps[i].sent) == 0)
			continue;
		if (i > 0)
			buf_putc(out, ',');
		canon_put_string(out, maps[i].sent);
		buf_putc(out, ':');
		canon_put_string(out, maps[i].mxid);
	}
	buf_puts(out, "}}");
	free(maps);
}

/* POST v2 lookup {algorithm, pepper, addresses}. */
static void
h_lookup_v2(struct ctx *c, const struct req *r, struct resp *rs)
{
	const struct cfg_rate	*lim =
		    &c->cfg.ratelimit[RATELIMIT_LOOKUP_USER];
	struct v2_lookup	 q;
	struct db_matches	 found = { 0 };
	cJSON			*args = NULL;

	memset(&q, 0, sizeof(q));
	if (req_args(r, &args, rs) == -1 ||
	    v2_lookup_parse(c, args, lim, &q, rs) == -1)
		/* Auth before input: a caller without a valid token
		 * learns that. */
		app_gate_refused_input(c, r, rs);
	else if (v2_lookup_find(c, r, lim, &q, &found, rs) == 0)
		v2_lookup_answer(&q, &found, rs);
	db_matches_clear(&found);
	v2_lookup_free(&q);
	cJSON_Delete(args);
}

static const struct route routes[] = {
	{ METHOD_GET, API_V1, "lookup", h_lookup_v1, AUTH_NONE },
	{ METHOD_POST, API_V1, "bulk_lookup", h_bulk_lookup, AUTH_NONE },
	{ METHOD_GET, API_V2, "hash_details", h_hash_details,
	    AUTH_USER_IN_HANDLER },
	{ METHOD_POST, API_V2, "lookup", h_lookup_v2, AUTH_USER_IN_HANDLER },
};

static const struct app lookup_app = {
	"sigil-lookup", routes, sizeof(routes) / sizeof(routes[0]),
	{ .db = &app_db, .db_use = APP_READ_REPLICA, .key = &app_key },
};

int
main(int argc, char *argv[])
{
	return fcgi_main(&lookup_app, argc, argv);
}
