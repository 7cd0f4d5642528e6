/*
 * Unit tests for app_needs_check() (common/app.c): a program's table
 * must name exactly the optional parts linked into it (common/part.h),
 * gated routes need the database, and options need their part.  This
 * test links the database part (it names app_db) and no other.
 */
#include <string.h>

#include "app.h"
#include "part.h"
#include "req.h"
#include "tap.h"

static void
h_none(struct ctx *c, const struct req *r, struct resp *rs)
{
	(void)c;
	(void)r;
	(void)rs;
}

static int
http_init_fake(const struct cfg *c, const char *program)
{
	(void)c;
	(void)program;
	return 0;
}

static void
http_void_fake(void)
{
}

static int
http_check_fake(const char *url, char *err, size_t errlen)
{
	(void)url;
	(void)err;
	(void)errlen;
	return 0;
}

/* A table of the HTTP part's shape whose code (common/http.c) is not
 * linked: naming it must be refused. */
static const struct app_http_part fake_http = {
	http_init_fake, http_void_fake, http_void_fake, http_check_fake,
};

static const struct route open_routes[] = {
	{ METHOD_GET, API_V2, "x", h_none, AUTH_NONE },
};
static const struct route gated_routes[] = {
	{ METHOD_GET, API_V2, "x", h_none, AUTH_NONE },
	{ METHOD_POST, API_V2, "y", h_none, AUTH_USER },
};

/* Checks a program of routes (open or gated) and needs n. */
static int
check(int gated, struct app_needs n)
{
	struct app	 a = { "sigil-test", gated ? gated_routes :
			    open_routes, gated ? 2 : 1, n };

	return app_needs_check(&a);
}

int
main(void)
{
	struct app_needs	 none = { 0 }, db = { .db = &app_db };
	struct app_needs	 n;

	is_int((long long)parts_linked(), 1U << PART_DB,
	    "this test links the database part alone");
	is_int(check(0, db), 0, "names what it links: accepted");
	is_int(check(1, db), 0, "gated routes with the database: accepted");
	is_int(check(0, none), -1,
	    "links the database but does not name it: refused");
	n = db;
	n.http = &fake_http;
	is_int(check(0, n), -1, "names HTTP, which is not linked: refused");
	n = db;
	n.db_use = APP_READ_REPLICA | APP_LISTEN;
	is_int(check(0, n), 0, "database options with the database");
	n = none;
	n.db_use = APP_READ_REPLICA;
	is_int(check(0, n), -1, "a database option without it: refused");
	n = db;
	n.templates = APP_MAIL_VERIFY;
	is_int(check(0, n), -1, "templates without mail: refused");
	is_int(check(1, none), -1, "a gated route without the database: "
	    "refused");
	return done_testing();
}
