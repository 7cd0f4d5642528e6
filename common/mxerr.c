/*
 * The errcode table: code, HTTP status, and a default message for replies
 * that have nothing more specific to say.
 */
#include "mxerr.h"

static const struct {
	const char	*code;
	int		 status;
	const char	*message;
} mxerrs[MX__MAX] = {
	[MX_BAD_JSON] = { "M_BAD_JSON", 400, "Malformed JSON" },
	[MX_NOT_JSON] = { "M_NOT_JSON", 400, "Body is not valid JSON" },
	[MX_MISSING_PARAMS] = { "M_MISSING_PARAMS", 400,
	    "Missing parameters" },
	[MX_INVALID_PARAM] = { "M_INVALID_PARAM", 400, "Invalid parameter" },
	[MX_UNRECOGNIZED] = { "M_UNRECOGNIZED", 404, "Unrecognized request" },
	[MX_METHOD_NOT_ALLOWED] = { "M_UNRECOGNIZED", 405,
	    "Method not allowed on this path" },
	[MX_NOT_FOUND] = { "M_NOT_FOUND", 404, "Not found" },
	[MX_UNAUTHORIZED] = { "M_UNAUTHORIZED", 401, "Unauthorized" },
	[MX_FORBIDDEN] = { "M_FORBIDDEN", 403, "Forbidden" },
	[MX_NOT_ALLOWED] = { "M_UNAUTHORIZED", 403, "Not allowed" },
	[MX_TERMS_NOT_SIGNED] = { "M_TERMS_NOT_SIGNED", 403,
	    "Terms of service not accepted" },
	[MX_TOO_LARGE] = { "M_TOO_LARGE", 413, "Request too large" },
	[MX_LIMIT_EXCEEDED] = { "M_LIMIT_EXCEEDED", 429, "Too many requests" },
	[MX_UNKNOWN] = { "M_UNKNOWN", 500, "Internal server error" },
	[MX_UNAVAILABLE] = { "M_UNKNOWN", 503,
	    "Service temporarily unavailable" },
	[MX_BAD_GATEWAY] = { "M_UNKNOWN", 502,
	    "The homeserver could not be used" },
	[MX_INVALID_EMAIL] = { "M_INVALID_EMAIL", 400,
	    "Not a valid email address" },
	[MX_EMAIL_SEND_ERROR] = { "M_EMAIL_SEND_ERROR", 400,
	    "The email could not be sent" },
	[MX_TOKEN_INCORRECT] = { "M_TOKEN_INCORRECT", 400,
	    "The token is incorrect" },
	[MX_SESSION_EXPIRED] = { "M_SESSION_EXPIRED", 400,
	    "The session has expired" },
	[MX_SESSION_NOT_VALIDATED] = { "M_SESSION_NOT_VALIDATED", 400,
	    "The session has not been validated" },
	[MX_NO_VALID_SESSION] = { "M_NO_VALID_SESSION", 404,
	    "No valid session was found" },
	[MX_INVALID_ADDRESS] = { "M_INVALID_ADDRESS", 400,
	    "Not a valid phone number" },
	[MX_SEND_ERROR] = { "M_SEND_ERROR", 400,
	    "The message could not be sent" },
	[MX_DESTINATION_REJECTED] = { "M_DESTINATION_REJECTED", 400,
	    "This server does not send messages to that destination" },
	[MX_INVALID_PEPPER] = { "M_INVALID_PEPPER", 400,
	    "Unknown or invalid pepper" },
	[MX_TOO_MANY] = { "M_TOO_LARGE", 400, "Too many items in the list" },
	[MX_UNRECOGNIZED_MEDIUM] = { "M_UNRECOGNIZED", 400,
	    "This medium is not supported here" },
	[MX_THREEPID_IN_USE] = { "M_THREEPID_IN_USE", 400,
	    "This address is already bound to a Matrix user" },
	[MX_REQUEST_TIMEOUT] = { "M_UNKNOWN", 408,
	    "The request did not arrive in time" },
};

/* Returns the errcode string, e.g. "M_NOT_FOUND"; static storage. */
const char *
mxerr_code(enum mxerr e)
{
	return mxerrs[e].code;
}

/* Returns the HTTP status that goes with the error. */
int
mxerr_status(enum mxerr e)
{
	return mxerrs[e].status;
}

/* Returns the default human-readable message; static storage. */
const char *
mxerr_message(enum mxerr e)
{
	return mxerrs[e].message;
}
