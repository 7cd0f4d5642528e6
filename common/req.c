/*
 * Request parsing that does not depend on how the request arrived:
 * method names, application/x-www-form-urlencoded pairs (query strings
 * and form bodies) and the JSON body.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "mxerr.h"
#include "req.h"
#include "resp.h"
#include "util.h"

/* The methods by name, in the order of their bits: methods[i] is bit
 * 1 << i. */
static const struct {
	const char		*name;
	enum http_method	 method;
} methods[] = {
	{ "GET", METHOD_GET }, { "POST", METHOD_POST },
	{ "PUT", METHOD_PUT }, { "DELETE", METHOD_DELETE },
	{ "OPTIONS", METHOD_OPTIONS }, { "HEAD", METHOD_HEAD },
	{ "OTHER", METHOD_OTHER },
};
_Static_assert(sizeof(methods) / sizeof(methods[0]) == REQ_METHODS,
    "one name per method bit");

/* Returns the method named by s (as in REQUEST_METHOD). */
enum http_method
req_method(const char *s)
{
	size_t	 i;

	for (i = 0; i < REQ_METHODS - 1; i++)
		if (strcmp(s, methods[i].name) == 0)
			return methods[i].method;
	return METHOD_OTHER;
}

/*
 * Returns the index (0 .. REQ_METHODS - 1) of the lowest method bit in
 * m, or REQ_METHODS when m has none.
 */
size_t
req_method_index(unsigned m)
{
	size_t	 i;

	for (i = 0; i < REQ_METHODS && !(m & methods[i].method); i++)
		;
	return i;
}

/* Returns the name of the method of bit 1 << i ("GET"), static. */
const char *
req_method_name(size_t i)
{
	return i < REQ_METHODS ? methods[i].name : "OTHER";
}

/*
 * The decoded request path from the server's CGI/1.1 meta-variables
 * (each NULL when absent): DOCUMENT_URI (nginx; Apache mod_proxy_fcgi as
 * deploy/apache-sigil.conf sets it), else REDIRECT_URL (Apache after an
 * internal rewrite, deploy/shared-hosting), else what RFC 3875 makes of
 * it, SCRIPT_NAME + PATH_INFO (4.1.13, 4.1.5: the part of the path that
 * named the program, then the rest; a server that maps a path prefix to
 * a program, as ScriptAlias or lighttpd's alias do).  An empty variable
 * is an absent one.  Every one of them is the server's, decoded once
 * already (none is decoded again here) and never a client's: request
 * headers arrive as HTTP_*.  Each of SCRIPT_NAME and PATH_INFO is empty
 * or starts with "/"; a server that passes anything else gets "".
 *
 * Returns a new string the caller frees: "" when the server named no
 * path; a path over max bytes cut to its first max + 1, which the
 * caller then refuses as too long.
 */
char *
req_cgi_path(const char *document_uri, const char *redirect_url,
    const char *script_name, const char *path_info, size_t max)
{
	const char	*named;
	char		*p;
	size_t		 ns, np;

	named = document_uri != NULL && *document_uri != '\0' ? document_uri :
	    redirect_url != NULL && *redirect_url != '\0' ? redirect_url : NULL;
	if (named != NULL)
		return xstrndup(named, strnlen(named, max + 1));
	if (script_name == NULL)
		script_name = "";
	if (path_info == NULL)
		path_info = "";
	if ((*script_name != '\0' && *script_name != '/') ||
	    (*path_info != '\0' && *path_info != '/'))
		return xstrdup("");
	ns = strnlen(script_name, max + 1);
	np = strnlen(path_info, max + 1 - ns);
	p = xmalloc(ns + np + 1);
	memcpy(p, script_name, ns);
	memcpy(p + ns, path_info, np);
	p[ns + np] = '\0';
	return p;
}

/*
 * Decodes n bytes of form-urlencoded text ('+' is a space, %XX a byte).
 * Returns a string the caller frees, or NULL on a bad or NUL escape or
 * when the result is not valid UTF-8.
 */
static char *
form_decode(const char *s, size_t n)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	o = out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n)
				goto bad;
			if ((hi = hex_value(s[i + 1])) == -1 ||
			    (lo = hex_value(s[i + 2])) == -1 ||
			    (hi == 0 && lo == 0))
				goto bad;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0')
			goto bad;
		else
			*o++ = s[i];
	}
	*o = '\0';
	if (!json_utf8_valid((unsigned char *)out, (size_t)(o - out)))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * Parses len bytes of "a=1&b=2" into out (empty on entry).  Empty pieces
 * ("a=1&&b=2") are skipped; a name without '=' has the value "".  Returns
 * 0, or -1 on a bad escape, a repeated name or more than MAX_PARAMS
 * pairs; out is then freed.
 */
int
req_params_parse(const char *s, size_t len, struct params *out)
{
	const char	*p = s, *end = s + len, *amp, *eq;
	char		*name, *value;
	size_t		 i;

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (out->n >= MAX_PARAMS)
			goto bad;
		if ((name = form_decode(p, (size_t)(eq - p))) == NULL)
			goto bad;
		value = eq < amp ? form_decode(eq + 1, (size_t)(amp - eq - 1)) :
		    xstrdup("");
		if (value == NULL) {
			free(name);
			goto bad;
		}
		for (i = 0; i < out->n; i++)
			if (strcmp(out->p[i].name, name) == 0)
				break;
		if (i < out->n) {
			free(name);
			free(value);
			goto bad;
		}
		out->p[out->n].name = name;
		out->p[out->n].value = value;
		out->n++;
		p = amp < end ? amp + 1 : end;
	}
	return 0;
bad:
	req_params_free(out);
	return -1;
}

/* Frees the pairs; out is empty afterwards. */
void
req_params_free(struct params *ps)
{
	size_t	 i;

	for (i = 0; i < ps->n; i++) {
		free(ps->p[i].name);
		free(ps->p[i].value);
	}
	ps->n = 0;
}

/* Returns the value of the pair named name, borrowed, or NULL. */
const char *
req_params_get(const struct params *ps, const char *name)
{
	size_t	 i;

	for (i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].name, name) == 0)
			return ps->p[i].value;
	return NULL;
}

/* Returns the query parameter name, borrowed from the request, or NULL. */
const char *
req_query(const struct req *r, const char *name)
{
	return req_params_get(&r->query, name);
}

/*
 * Parses the body as a strict JSON object (see json.h).  Returns 0 and a
 * tree in *out that the caller deletes, or -1 with the error response
 * already set in rs.
 */
int
req_json(const struct req *r, cJSON **out, struct resp *rs)
{
	if (r->body == NULL || r->body_len == 0) {
		resp_err(rs, MX_NOT_JSON, "Request body is empty; "
		    "a JSON object is required");
		return -1;
	}
	switch (json_parse_object(r->body, r->body_len, out)) {
	case JSON_PARSE_OK:
		return 0;
	case JSON_PARSE_SYNTAX:
		resp_err(rs, MX_NOT_JSON, "Request body is not valid JSON "
		    "(UTF-8, no NUL, no trailing bytes)");
		return -1;
	case JSON_PARSE_SHAPE:
		resp_err(rs, MX_BAD_JSON, "Request body must be a JSON object "
		    "without duplicate keys");
		return -1;
	}
	abort();
}

static cJSON *
params_to_object(const struct params *ps)
{
	cJSON	*o = cJSON_CreateObject();
	size_t	 i;

	for (i = 0; i < ps->n; i++)
		cJSON_AddStringToObject(o, ps->p[i].name, ps->p[i].value);
	return o;
}

/* A form-urlencoded body's pairs as a JSON object of strings. */
static int
form_args(const struct req *r, cJSON **out, struct resp *rs)
{
	struct params	 form;

	memset(&form, 0, sizeof(form));
	if (req_params_parse(r->body, r->body_len, &form) == -1) {
		resp_err(rs, MX_INVALID_PARAM, "Malformed form body");
		return -1;
	}
	*out = params_to_object(&form);
	req_params_free(&form);
	return 0;
}

static int
is_form(const struct req *r)
{
	return r->content_type != NULL && strncasecmp(r->content_type,
	    "application/x-www-form-urlencoded", 33) == 0;
}

/*
 * The request's parameters as one JSON object, so handlers read v1 and
 * v2 alike.  v2, and v1 with a JSON body: the body (req_json).  v1 with a
 * form-urlencoded body: its pairs, as strings.  v1 without a body (GET,
 * or POST with the fields in the query string): the query pairs.  Returns
 * 0 and a tree the caller deletes, or -1 with the error response set.
 */
int
req_args(const struct req *r, cJSON **out, struct resp *rs)
{
	if (r->api != API_V1 && r->method != METHOD_GET)
		return req_json(r, out, rs);
	if (r->method == METHOD_GET || r->body_len == 0 ||
	    (r->body_len == 4 && memcmp(r->body, "null", 4) == 0)) {
		*out = params_to_object(&r->query);
		return 0;
	}
	if (is_form(r))
		return form_args(r, out, rs);
	return req_json(r, out, rs);
}

/*
 * req_args, and on v2 a form-urlencoded body too: for the routes whose v2
 * spec still allows one (deprecated, "for backwards compatibility"):
 * 3pid/bind and validate/{email,msisdn}/{requestToken,submitToken}.
 * Other v2 routes take JSON only.
 */
int
req_args_form(const struct req *r, cJSON **out, struct resp *rs)
{
	if (r->api != API_V1 && r->method != METHOD_GET && is_form(r))
		return form_args(r, out, rs);
	return req_args(r, out, rs);
}

/*
 * Turns the result of a getter on a required field into the Matrix error:
 * absent is 400 M_MISSING_PARAMS, a wrong type or value 400
 * M_INVALID_PARAM.  Returns 0 for JSON_OK, else -1 with rs set.
 */
int
req_field_ok(struct resp *rs, int res, const char *field)
{
	switch ((enum json_res)res) {
	case JSON_OK:
		return 0;
	case JSON_MISSING:
		resp_err(rs, MX_MISSING_PARAMS, "Missing %s", field);
		return -1;
	case JSON_BADTYPE:
	case JSON_RANGE:
		break;
	}
	resp_err(rs, MX_INVALID_PARAM, "Invalid %s", field);
	return -1;
}

/* Frees everything the request owns; r is zeroed. */
void
req_free(struct req *r)
{
	free(r->path);
	free(r->request_uri);
	free(r->query_string);
	free(r->content_type);
	free(r->authorization);
	free(r->remote_addr);
	free(r->redirect_status);
	free(r->body);
	free(r->user_id);
	req_params_free(&r->query);
	memset(r, 0, sizeof(*r));
}
