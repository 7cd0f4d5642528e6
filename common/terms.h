/*
 * The terms of service: a JSON file named by terms_file, in the shape GET
 * /v2/terms answers, {"policies": {<name>: {"version": v, <lang>: {"name",
 * "url"}, ...}, ...}}.  Read once at start.
 */
#ifndef SIGIL_TERMS_H
#define SIGIL_TERMS_H

#include <stddef.h>

/* Between a policy's name and its version in terms_policy.key. */
#define TERMS_KEY_SEP	'\x1f'

struct terms_policy {
	char	 *key;		/* "<name>\x1f<version>": what a user agrees to */
	char	**urls;		/* every language's URL of this version */
	size_t	  nurls;
};

struct terms {
	char			*response;	/* GET /terms body, canonical */
	struct terms_policy	*policies;
	size_t			 npolicies;
	const char		**keys;		/* each policy's key, in order */
};

int	 terms_load(const char *, struct terms *, char *, size_t);
void	 terms_empty(struct terms *);
void	 terms_free(struct terms *);
const char *terms_key_for_url(const struct terms *, const char *);

#endif /* !SIGIL_TERMS_H */
