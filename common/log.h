/*
 * One-line logs on stderr, which spawn-fcgi and systemd hand to a file or
 * the journal.  Lines look like "sigil-pubkey[1234] warn: text".  Callers
 * never pass a secret (token, client secret, key) to these functions.
 */
#ifndef SIGIL_LOG_H
#define SIGIL_LOG_H

void	 log_init(const char *);
void	 log_quiet_info(int);
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_err(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif /* !SIGIL_LOG_H */
