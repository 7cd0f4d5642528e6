/*
 * One-line logs on stderr, which spawn-fcgi and systemd hand to a file or
 * the journal.  Lines look like
 *
 *	2026-12-07T21:58:01.123Z sigil-pubkey[1234] warn: text
 *
 * and under journald, which stamps lines itself, without the time.
 * Callers never pass a secret (token, client secret, key) to these
 * functions.
 *
 * A program that writes to a log file of its own (log_open(), or a
 * worker of sigil-supervise -l, which names the file in SIGIL_LOG_FILE)
 * opens that file again by name on SIGUSR1, before the next line it
 * writes: rename the file, send SIGUSR1, and the next line starts the
 * new file (deploy/logrotate/sigil).
 */
#ifndef SIGIL_LOG_H
#define SIGIL_LOG_H

#include <stddef.h>

#define LOG_FILE_ENV	"SIGIL_LOG_FILE"

void	 log_init(const char *);
int	 log_open(const char *);
void	 log_reopen(void);
void	 log_reopen_if_due(void);
void	 log_quiet_info(int);
size_t	 log_stamp(char *, size_t);
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_err(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif /* !SIGIL_LOG_H */
