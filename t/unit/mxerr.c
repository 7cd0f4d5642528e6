/* Unit tests for common/mxerr and resp_err: the table is complete. */
#include <string.h>

#include <cjson/cJSON.h>

#include "mxerr.h"
#include "resp.h"
#include "tap.h"

int
main(void)
{
	struct resp	 rs;
	cJSON		*extra;
	int		 e, complete = 1;

	for (e = 0; e < MX__MAX; e++)
		if (mxerr_code(e) == NULL || strncmp(mxerr_code(e), "M_", 2) ||
		    mxerr_status(e) < 400 || mxerr_status(e) > 599 ||
		    mxerr_message(e) == NULL)
			complete = 0;
	ok(complete, "every errcode has a code, a 4xx/5xx status, a message");
	is_int(mxerr_status(MX_METHOD_NOT_ALLOWED), 405, "405 for methods");
	is_str(mxerr_code(MX_METHOD_NOT_ALLOWED), "M_UNRECOGNIZED",
	    "405 is M_UNRECOGNIZED");

	memset(&rs, 0, sizeof(rs));
	resp_err(&rs, MX_NOT_FOUND, NULL);
	is_int(rs.status, 404, "resp_err sets the status");
	is_str(buf_str(&rs.body),
	    "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"Not found\"}",
	    "resp_err body with the default message");
	resp_err(&rs, MX_INVALID_PARAM, "bad %s \"quoted\"", "thing");
	is_str(buf_str(&rs.body), "{\"errcode\":\"M_INVALID_PARAM\","
	    "\"error\":\"bad thing \\\"quoted\\\"\"}",
	    "a formatted message is escaped");
	extra = cJSON_CreateObject();
	cJSON_AddStringToObject(extra, "mxid", "@a:b");
	cJSON_AddStringToObject(extra, "errcode", "M_FAKE");
	resp_err_with(&rs, MX_FORBIDDEN, extra, NULL);
	is_str(buf_str(&rs.body), "{\"errcode\":\"M_FORBIDDEN\","
	    "\"error\":\"Forbidden\",\"mxid\":\"@a:b\"}",
	    "extra members are added, errcode cannot be overridden");
	resp_free(&rs);
	return done_testing();
}
