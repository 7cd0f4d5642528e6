/*
 * Every bound that sigil puts on its input, in one place.  Each limit says
 * where its number comes from.  The web fronts' body caps are MAX_BODY,
 * written into their configuration by deploy/gen-routes, which reads the
 * number here: keep it a product of plain integers.
 */
#ifndef SIGIL_BOUNDS_H
#define SIGIL_BOUNDS_H

/* Request body: a v2 lookup of 10,000 hashes is about 460 KiB. */
#define MAX_BODY		(1024L * 1024)

/* Nesting of a JSON body; no request we accept nests deeper than 4. */
#define MAX_JSON_DEPTH		32

/* Request path and query string, in bytes. */
#define MAX_PATH		1024
#define MAX_QUERY		8192

/* Number of query or form pairs in one request. */
#define MAX_PARAMS		64

/* Authorization header, in bytes (X-Matrix headers carry a signature). */
#define MAX_AUTH_HEADER		4096

/* Spec: sid, client_secret and tokens are 1-255 of [0-9a-zA-Z.=_-]. */
#define MAX_OPAQUE_ID		255

/* Spec: a user ID is at most 255 bytes; server names are under it. */
#define MAX_USER_ID		255
#define MAX_SERVER_NAME		255

/* Key ids "ed25519:<id>", and how many keys the configuration may list. */
#define MAX_KEY_ID		64
#define MAX_KEYS		32

/* An Ed25519 public key in base64 is 43 characters; allow padding. */
#define MAX_PUBLIC_KEY_B64	64

/* Items in a list-valued configuration key (allow-lists). */
#define MAX_LIST		64

/* Configuration file: line length and size. */
#define MAX_CFG_LINE		4096
#define MAX_CFG_FILE		(1024L * 1024)

/* Environment values copied from the FastCGI parameters. */
#define MAX_HEADER_VALUE	1024

/*
 * Metrics (common/metrics.c): worker rows in one program's shared file
 * (more workers than this are served but not counted), counted routes
 * per program (more fold into "other"), and programs' files read by one
 * scrape.
 */
#define MAX_METRICS_WORKERS	64
#define MAX_METRICS_ROUTES	48
#define MAX_METRICS_PROGRAMS	32

/*
 * Templates (common/tmpl.c, common/j2.c): a file's size; in the Jinja2
 * subset, tags per file and {% if %} nesting (a stock mail template has
 * about 40 tags and no nesting).
 */
#define MAX_TEMPLATE		(256L * 1024)
#define MAX_TEMPLATE_TAGS	4096
#define MAX_TEMPLATE_DEPTH	8

/*
 * The directory (common/ldapsrc.c): the bind password file's size, an
 * attribute value read (a localpart or an address; longer ones are
 * skipped), and the pages of one paged search (a server that keeps
 * handing out cookies is stopped: 100000 pages of the default 500
 * entries are 50 million entries).
 */
#define MAX_LDAP_PASSWORD	1024
#define MAX_LDAP_VALUE		1024
#define MAX_LDAP_PAGES		100000

#endif /* !SIGIL_BOUNDS_H */
