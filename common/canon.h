/*
 * Canonical JSON (Matrix spec appendix "Canonical JSON"): keys sorted by
 * code point, no insignificant white space, UTF-8 as is, integers only in
 * [-(2^53)+1, 2^53-1], the shortest escapes.  Every signature is made and
 * checked over this encoding.
 */
#ifndef SIGIL_CANON_H
#define SIGIL_CANON_H

struct buf;
struct cJSON;

int	 canon_write(const struct cJSON *, struct buf *);
int	 canon_write_except(const struct cJSON *, struct buf *,
	    const char *, const char *);
void	 canon_put_string(struct buf *, const char *);

#endif /* !SIGIL_CANON_H */
