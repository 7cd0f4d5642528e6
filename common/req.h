/*
 * The request as handlers see it, independent of FastCGI: method, path,
 * query pairs, a few headers and the body.  Everything here is owned by
 * the request and freed by req_free() when the request ends.
 */
#ifndef SIGIL_REQ_H
#define SIGIL_REQ_H

#include <stddef.h>

#include "bounds.h"

struct cJSON;
struct resp;

enum http_method {
	METHOD_GET	= 0x01,
	METHOD_POST	= 0x02,
	METHOD_PUT	= 0x04,
	METHOD_DELETE	= 0x08,
	METHOD_OPTIONS	= 0x10,
	METHOD_HEAD	= 0x20,
	METHOD_OTHER	= 0x40,
};
#define REQ_METHODS	7	/* the bits above */

/* Which API a path belongs to; set by the dispatcher. */
enum api {
	API_V1		= 0x01,	/* /_matrix/identity/api/v1 */
	API_V2		= 0x02,	/* /_matrix/identity/v2 */
	API_ROOT	= 0x04,	/* /_matrix/identity/<name>, e.g. versions */
	API_OPS		= 0x08,	/* /_sigil/<name>: the operator's (metrics) */
};

struct param {
	char	*name;
	char	*value;
};

struct params {
	struct param	 p[MAX_PARAMS];
	size_t		 n;
};

struct req {
	enum http_method method;
	char		*path;		/* decoded path, e.g. DOCUMENT_URI */
	char		*request_uri;	/* the request target as sent */
	char		*query_string;	/* raw, "" when none */
	char		*content_type;	/* NULL when absent */
	char		*authorization;	/* NULL when absent */
	char		*remote_addr;
	char		*redirect_status; /* REDIRECT_STATUS: the status whose
					   * error page the front sent here;
					   * NULL when absent */
	char		*body;		/* NUL-terminated; NULL when empty */
	size_t		 body_len;
	struct params	 query;		/* parsed by the dispatcher */
	enum api	 api;		/* set by the dispatcher */
	const char	*route;		/* its route's path, or NULL: none */
	const char	*path_arg;	/* the "*" segment of the route, or NULL */
	char		*user_id;	/* v2: the token's user, set by the gate */
	char		 token_hash[65]; /* v2: SHA-256 hex of the token */
	int		 gate_passed;	/* v2: the dispatcher's gate let it in */
};

enum http_method req_method(const char *);
size_t	 req_method_index(unsigned);
const char *req_method_name(size_t);
char	*req_cgi_path(const char *, const char *, const char *, const char *,
	    size_t);
int	 req_params_parse(const char *, size_t, struct params *);
void	 req_params_free(struct params *);
const char *req_params_get(const struct params *, const char *);
const char *req_query(const struct req *, const char *);
int	 req_json(const struct req *, struct cJSON **, struct resp *);
int	 req_args(const struct req *, struct cJSON **, struct resp *);
int	 req_args_form(const struct req *, struct cJSON **, struct resp *);
int	 req_field_ok(struct resp *, int, const char *);
void	 req_free(struct req *);

#endif /* !SIGIL_REQ_H */
