/*
 * The Matrix error codes sigil answers with, and the HTTP status of each.
 * This table is the only place an errcode string is spelled.
 */
#ifndef SIGIL_MXERR_H
#define SIGIL_MXERR_H

enum mxerr {
	MX_BAD_JSON,		/* body is JSON but not of the right shape */
	MX_NOT_JSON,		/* body is not JSON at all */
	MX_MISSING_PARAMS,	/* a required parameter is absent */
	MX_INVALID_PARAM,	/* a parameter has a bad type or value */
	MX_UNRECOGNIZED,	/* unknown path (404) */
	MX_METHOD_NOT_ALLOWED,	/* known path, wrong method: M_UNRECOGNIZED 405 */
	MX_NOT_FOUND,		/* a named resource does not exist */
	MX_UNAUTHORIZED,	/* no or bad access token */
	MX_FORBIDDEN,		/* authenticated but not allowed */
	MX_NOT_ALLOWED,		/* M_UNAUTHORIZED with 403: refused by policy */
	MX_TERMS_NOT_SIGNED,	/* the user has not agreed to the terms */
	MX_TOO_LARGE,		/* body or list over its limit */
	MX_LIMIT_EXCEEDED,	/* rate limited */
	MX_UNKNOWN,		/* our fault or the environment's (500) */
	MX_UNAVAILABLE,		/* the database is down right now (503) */
	MX_BAD_GATEWAY,		/* a homeserver failed us (502 M_UNKNOWN) */
	MX_INVALID_EMAIL,	/* not an address we accept */
	MX_EMAIL_SEND_ERROR,	/* the mail could not be sent */
	MX_TOKEN_INCORRECT,	/* wrong validation token */
	MX_SESSION_EXPIRED,
	MX_SESSION_NOT_VALIDATED,
	MX_NO_VALID_SESSION,	/* 404 */
	MX_INVALID_ADDRESS,	/* not a phone number we accept */
	MX_SEND_ERROR,		/* the SMS could not be sent */
	MX_DESTINATION_REJECTED, /* we do not text that region */
	MX_INVALID_PEPPER,	/* lookup with a stale or wrong pepper */
	MX_TOO_MANY,		/* M_TOO_LARGE with 400: a list over its cap */
	MX_UNRECOGNIZED_MEDIUM,	/* M_UNRECOGNIZED with 400: a medium we lack */
	MX_THREEPID_IN_USE,	/* invite to an address already bound */
	MX_REQUEST_TIMEOUT,	/* M_UNKNOWN 408: the request came too slowly */
	MX__MAX
};

const char	*mxerr_code(enum mxerr);
int		 mxerr_status(enum mxerr);
const char	*mxerr_message(enum mxerr);

#endif /* !SIGIL_MXERR_H */
