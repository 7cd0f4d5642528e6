/*
 * The response a handler builds: a status and a JSON body.  The FastCGI
 * module adds the headers every response carries (JSON content type and
 * CORS) when it writes it out.
 */
#ifndef SIGIL_RESP_H
#define SIGIL_RESP_H

#include "buf.h"
#include "mxerr.h"

struct cJSON;

struct resp {
	int		 status;	/* 0 until a handler answers */
	struct buf	 body;		/* JSON text, unless content_type says */
	const char	*content_type;	/* static; NULL: application/json */
	char		*location;	/* owned; a redirect's target or NULL */
	int		 retry_after;	/* s; a Retry-After header, 0: none */
};

void	 resp_json(struct resp *, int, const struct cJSON *);
struct buf	*resp_json_body(struct resp *, int);
void	 resp_json_text(struct resp *, int, const char *);
void	 resp_err(struct resp *, enum mxerr, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 resp_err_with(struct resp *, enum mxerr, struct cJSON *,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
void	 resp_busy(struct resp *, int, const char *);
void	 resp_html(struct resp *, int, const struct buf *);
void	 resp_redirect(struct resp *, const char *);
void	 resp_free(struct resp *);

#endif /* !SIGIL_RESP_H */
