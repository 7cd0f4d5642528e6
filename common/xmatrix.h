/*
 * The X-Matrix Authorization scheme homeservers sign requests with
 * (server-server API, "Request Authentication"): parsing the header.
 */
#ifndef SIGIL_XMATRIX_H
#define SIGIL_XMATRIX_H

#include "bounds.h"

#define XMATRIX_MAX_CREDENTIALS	4
#define XMATRIX_MAX_SIG		128

struct xmatrix {
	char	 origin[MAX_SERVER_NAME + 1];
	char	 destination[MAX_SERVER_NAME + 1];	/* "" when absent */
	char	 key[MAX_KEY_ID + 1];
	char	 sig[XMATRIX_MAX_SIG + 1];
};

int	 xmatrix_parse(const char *, struct xmatrix *, int);

#endif /* !SIGIL_XMATRIX_H */
