/*
 * sigil-sync's SQL source: a query (sync_sql_query) on another
 * PostgreSQL database (sync_sql_conninfo) answering rows of (medium,
 * address, user ID), e.g. Synapse's user_threepids.  See syncsrc.h.
 */
#ifndef SIGIL_SQLSRC_H
#define SIGIL_SQLSRC_H

#include <stddef.h>

#include "syncsrc.h"

struct cfg;

int	 sqlsrc_read(const struct cfg *, sync_emit_fn, void *, char *, size_t);

#endif /* !SIGIL_SQLSRC_H */
