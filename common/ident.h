/*
 * Matrix identifier grammar (spec appendix "Identifier Grammar"): server
 * names and user IDs.  Pure functions; no allocation.
 */
#ifndef SIGIL_IDENT_H
#define SIGIL_IDENT_H

#include <stddef.h>

int	 ident_server_name_valid(const char *);
int	 ident_server_name_split(const char *, char *, size_t, int *);
int	 ident_is_ip_literal(const char *);
int	 ident_user_id_valid(const char *);
const char *ident_user_id_server(const char *);

int	 ident_key_id_valid(const char *);
#endif /* !SIGIL_IDENT_H */
