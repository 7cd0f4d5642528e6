/*
 * Small helpers every module uses: allocation that aborts on failure (a
 * worker that cannot allocate is better restarted than half-answering),
 * bounded number parsing, the clock.  Secrets: secret.h.
 */
#ifndef SIGIL_UTIL_H
#define SIGIL_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

int	 parse_int64(const char *, int64_t, int64_t, int64_t *);
int64_t	 now_ms(void);
int	 hex_value(int);
const char *http_url_host(const char *);
int	 argv_has(int, char *const *, const char *);
const char *argv_value(int, char *const *, const char *);

#endif /* !SIGIL_UTIL_H */
