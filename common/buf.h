/*
 * A growable byte buffer, always NUL-terminated so that its text can be
 * passed to C string functions.  The owner calls buf_free().
 */
#ifndef SIGIL_BUF_H
#define SIGIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;		/* owned; NULL until the first append */
	size_t	 len;		/* bytes used, not counting the NUL */
	size_t	 cap;		/* bytes allocated */
};

void	 buf_append(struct buf *, const void *, size_t);
void	 buf_puts(struct buf *, const char *);
void	 buf_putc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	 buf_put_urlencoded(struct buf *, const char *);
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
const char *buf_str(const struct buf *);

#endif /* !SIGIL_BUF_H */
