/*
 * Unit tests for common/dbstmt: every statement of the table has SQL, a
 * name (what logs show), unique among them and in lower case, and as
 * many parameters as its SQL uses ($1..$n, the highest is n).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dbint.h"
#include "tap.h"

/* The highest $n in sql. */
static int
max_param(const char *sql)
{
	const char	*p;
	long		 n, max = 0;

	for (p = strchr(sql, '$'); p != NULL; p = strchr(p + 1, '$'))
		if (isdigit((unsigned char)p[1]) &&
		    (n = strtol(p + 1, NULL, 10)) > max)
			max = n;
	return (int)max;
}

static int
name_ok(const char *name)
{
	const char	*p;

	if (name == NULL || *name == '\0')
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return 0;
	return 1;
}

int
main(void)
{
	int	 i, j, dup;

	for (i = 0; i < STMT__MAX; i++) {
		ok(name_ok(db_stmts[i].name), "statement %d has a name (%s)",
		    i, db_stmts[i].name == NULL ? "none" : db_stmts[i].name);
		if (db_stmts[i].sql == NULL) {
			ok(0, "%s has SQL", db_stmts[i].name);
			continue;
		}
		is_int(max_param(db_stmts[i].sql), db_stmts[i].nparams,
		    "%s: its parameters", db_stmts[i].name);
		for (dup = 0, j = 0; j < i; j++)
			if (db_stmts[j].name != NULL && db_stmts[i].name != NULL &&
			    strcmp(db_stmts[i].name, db_stmts[j].name) == 0)
				dup = 1;
		ok(!dup, "%s: the name is unique", db_stmts[i].name);
	}
	is_str(db_stmts[STMT_BIND_INSERT].name, "bind_insert",
	    "names follow the enum: STMT_BIND_INSERT is bind_insert");
	is_str(db_stmts[STMT_SESSION_INSERT].name, "session_insert",
	    "STMT_SESSION_INSERT is session_insert");
	return done_testing();
}
