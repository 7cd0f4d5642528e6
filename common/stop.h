/*
 * How a daemon (sigil-notify, sigil-sync) is asked to stop: SIGTERM or
 * SIGINT sets stop_asked and writes to a pipe, whose read end its waits
 * (poll, db_wait, http_calls_run) watch, so that a wait ends at once.
 */
#ifndef SIGIL_STOP_H
#define SIGIL_STOP_H

#include <signal.h>

extern volatile sig_atomic_t	 stop_asked;

int	 stop_signals_init(void);
int	 stop_wake_fd(void);
void	 stop_sleep(int);
void	 stop_signals_free(void);

#endif /* !SIGIL_STOP_H */
