/*
 * Building responses.  Bodies are written with the canonical JSON writer,
 * so every reply is compact, has sorted keys and exact integers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "canon.h"
#include "log.h"
#include "resp.h"
#include "util.h"

/*
 * Sets the response to status with body v, which stays owned by the
 * caller.  A body that cannot be written becomes a 500 M_UNKNOWN.
 */
void
resp_json(struct resp *rs, int status, const cJSON *v)
{
	buf_reset(&rs->body);
	rs->content_type = NULL;
	if (canon_write(v, &rs->body) == -1) {
		log_err("response body is not canonical JSON");
		resp_err(rs, MX_UNKNOWN, NULL);
		return;
	}
	rs->status = status;
}

/*
 * Sets the response to status with an empty body and returns the body
 * (borrowed from rs) for the caller to write canonical JSON into piece
 * by piece (canon_put_string()): for replies too long to build as a
 * tree first.
 */
struct buf *
resp_json_body(struct resp *rs, int status)
{
	buf_reset(&rs->body);
	rs->content_type = NULL;
	rs->status = status;
	return &rs->body;
}

/*
 * Sets the response to status with body text, JSON the caller prepared
 * (for instance at start-up); text is copied.
 */
void
resp_json_text(struct resp *rs, int status, const char *text)
{
	buf_reset(&rs->body);
	buf_puts(&rs->body, text);
	rs->content_type = NULL;
	rs->status = status;
}

static void
resp_err_v(struct resp *rs, enum mxerr e, cJSON *extra, const char *fmt,
    va_list ap)
{
	char	 msg[512];
	cJSON	*o;

	if (fmt == NULL)
		snprintf(msg, sizeof(msg), "%s", mxerr_message(e));
	else
		vsnprintf(msg, sizeof(msg), fmt, ap);
	o = extra != NULL ? extra : cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(o, "errcode");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "error");
	cJSON_AddStringToObject(o, "errcode", mxerr_code(e));
	cJSON_AddStringToObject(o, "error", msg);
	buf_reset(&rs->body);
	rs->content_type = NULL;
	free(rs->location);
	rs->location = NULL;
	rs->retry_after = 0;
	if (canon_write(o, &rs->body) == -1) {
		buf_reset(&rs->body);
		buf_puts(&rs->body, "{\"errcode\":\"M_UNKNOWN\","
		    "\"error\":\"Internal server error\"}");
		rs->status = 500;
	} else
		rs->status = mxerr_status(e);
	cJSON_Delete(o);
}

/*
 * Sets the response to the Matrix error e: its HTTP status and a body
 * {"errcode", "error"}.  fmt (NULL for the table's default message) must
 * not carry raw input or library error text.
 */
void
resp_err(struct resp *rs, enum mxerr e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	resp_err_v(rs, e, NULL, fmt, ap);
	va_end(ap);
}

/*
 * As resp_err, with the members of extra (an object; taken over and
 * deleted) added to the body, e.g. "mxid" for M_THREEPID_IN_USE.
 */
void
resp_err_with(struct resp *rs, enum mxerr e, cJSON *extra, const char *fmt,
    ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	resp_err_v(rs, e, extra, fmt, ap);
	va_end(ap);
}

/*
 * Sets 503 M_UNKNOWN with a Retry-After of seconds (at least 1): what
 * (static text) cannot be done now, but may be then.
 */
void
resp_busy(struct resp *rs, int seconds, const char *what)
{
	resp_err(rs, MX_UNAVAILABLE, "%s; try again later", what);
	rs->retry_after = seconds < 1 ? 1 : seconds;
}

/* Sets an HTML response: status and a copy of page. */
void
resp_html(struct resp *rs, int status, const struct buf *page)
{
	buf_reset(&rs->body);
	buf_append(&rs->body, buf_str(page), page->len);
	rs->content_type = "text/html; charset=utf-8";
	rs->status = status;
}

/* Sets a 302 to url (copied), which the caller has checked. */
void
resp_redirect(struct resp *rs, const char *url)
{
	free(rs->location);
	rs->location = xstrdup(url);
	buf_reset(&rs->body);
	rs->content_type = "text/html; charset=utf-8";
	rs->status = 302;
}

/* Frees the body; rs is reusable afterwards. */
void
resp_free(struct resp *rs)
{
	buf_free(&rs->body);
	free(rs->location);
	rs->location = NULL;
	rs->content_type = NULL;
	rs->retry_after = 0;
	rs->status = 0;
}
