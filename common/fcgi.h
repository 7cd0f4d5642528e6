/*
 * The FastCGI accept loop every sigil program runs as its main().
 */
#ifndef SIGIL_FCGI_H
#define SIGIL_FCGI_H

struct app;

int	 fcgi_main(const struct app *, int, char **);

#endif /* !SIGIL_FCGI_H */
