/*
 * A small TAP producer for the C unit tests, run by prove.
 */
#ifndef SIGIL_TAP_H
#define SIGIL_TAP_H

#include <stddef.h>

int	 ok(int, const char *, ...) __attribute__((format(printf, 2, 3)));
int	 is_int(long long, long long, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	 is_str(const char *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 diag(const char *, ...) __attribute__((format(printf, 1, 2)));
int	 done_testing(void);

#endif /* !SIGIL_TAP_H */
