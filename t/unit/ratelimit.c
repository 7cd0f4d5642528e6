/*
 * Unit tests for common/ratelimit: the leases a worker keeps of what the
 * shared limit granted beyond a request's cost, spent without asking
 * PostgreSQL until they run out or their slot ends, and the 429 answer.
 * What the database grants (the sliding window, a lease's slot) is
 * t/http/72-lookup-limits.t's; here a struct db_rate stands for its
 * answer, and no call reaches a database (db is NULL throughout).
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "db.h"
#include "ratelimit.h"
#include "resp.h"
#include "tap.h"
#include "util.h"

/* An answer of the database: granted units, a slot of lease_ms. */
static struct db_rate
granted(int64_t units, int64_t lease_ms)
{
	struct db_rate	 a;

	memset(&a, 0, sizeof(a));
	a.granted = units;
	a.lease_ms = lease_ms;
	return a;
}

/* Spends one unit at a time of key's lease: how many it could spend. */
static int64_t
spend_all(const char *key)
{
	int64_t	 n = 0;

	while (n < 1000000 && ratelimit_lease_spend(key, 1))
		n++;
	return n;
}

int
main(void)
{
	struct cfg_rate	 big = { .count = 5000, .seconds = 60,
			     .limit = RATELIMIT__MAX };
	struct cfg_rate	 small = { .count = 999, .seconds = 60,
			     .limit = RATELIMIT__MAX };
	struct cfg_rate	 off = { .count = 0, .seconds = 60,
			     .limit = RATELIMIT__MAX };
	struct db_rate	 a;
	struct resp	 rs;
	char		 key[400], name[32];
	int		 i, all;

	/* What a request asks for: its cost, and a thousandth to lend. */
	is_int(ratelimit_want(&big, 1), 6, "a limit of 5000 lends 5 more");
	is_int(ratelimit_want(&big, 40), 45, "... whatever the cost");
	is_int(ratelimit_want(&small, 3), 3, "a limit under 1000 lends none");

	/* No lease: nothing is spent without asking. */
	ok(!ratelimit_lease_spend("none", 1), "no lease: not taken");
	a = granted(3, 60000);
	ratelimit_lease_keep("exact", 3, &a, now_ms());
	ok(!ratelimit_lease_spend("exact", 1),
	    "granted only the cost: no lease kept");

	/* A lease is what was granted beyond the cost, spent once. */
	a = granted(6, 60000);
	ratelimit_lease_keep("lk", 1, &a, now_ms());
	ok(!ratelimit_lease_spend("lk", 6), "a cost over the lease: not taken");
	ok(ratelimit_lease_spend("lk", 3), "3 of a lease of 5");
	ok(!ratelimit_lease_spend("other", 1), "only on its own bucket");
	ok(ratelimit_lease_spend("lk", 2), "the other 2");
	ok(!ratelimit_lease_spend("lk", 1), "then nothing is left");

	/* Kept again: replaced, not added to. */
	a = granted(10, 60000);
	ratelimit_lease_keep("re", 1, &a, now_ms());
	a = granted(3, 60000);
	ratelimit_lease_keep("re", 1, &a, now_ms());
	is_int(spend_all("re"), 2, "a new lease replaces the old one");

	/* A lease lapses when its slot ends: lease_ms after it was asked. */
	a = granted(11, 60000);
	ratelimit_lease_keep("old", 1, &a, now_ms() - 60000);
	ok(!ratelimit_lease_spend("old", 1), "a lease whose slot ended: lapsed");
	ratelimit_lease_keep("old", 1, &a, now_ms() - 59000);
	ok(ratelimit_lease_spend("old", 1), "one whose slot has 1 s left: spent");

	/* A bucket too long to keep is asked about every time. */
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	a = granted(6, 60000);
	ratelimit_lease_keep(key, 1, &a, now_ms());
	ok(!ratelimit_lease_spend(key, 1), "a bucket of 399 bytes: no lease");
	key[320] = '\0';
	ratelimit_lease_keep(key, 1, &a, now_ms());
	ok(!ratelimit_lease_spend(key, 1), "320 bytes and its NUL: none");
	key[319] = '\0';
	ratelimit_lease_keep(key, 1, &a, now_ms());
	ok(ratelimit_lease_spend(key, 1), "319 bytes and its NUL: kept");

	/*
	 * 64 buckets hold a lease at once; the 65th takes the place of the
	 * one kept longest ago.
	 */
	all = 1;
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "fill%d", i);
		a = granted(3, 60000);
		ratelimit_lease_keep(name, 1, &a, now_ms());
	}
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "fill%d", i);
		if (!ratelimit_lease_spend(name, 1))
			all = 0;
	}
	ok(all, "64 buckets keep a lease each");
	ratelimit_lease_keep("extra", 1, &a, now_ms());
	ok(ratelimit_lease_spend("extra", 1), "a 65th is kept");
	ok(!ratelimit_lease_spend("fill0", 1), "in place of the oldest");
	ok(ratelimit_lease_spend("fill1", 1), "the next oldest stays");

	/* ratelimit_take: off, nothing to take, or from the lease: no db. */
	memset(&rs, 0, sizeof(rs));
	is_int(ratelimit_take(NULL, "b", &off, 1, &rs), 0, "a limit that is off");
	is_int(ratelimit_take(NULL, "b", &big, 0, &rs), 0, "a cost of 0");
	a = granted(6, 60000);
	ratelimit_lease_keep("tk", 1, &a, now_ms());
	is_int(ratelimit_take(NULL, "tk", &big, 4, &rs), 0,
	    "4 units taken from a lease of 5, without the database");
	is_int(spend_all("tk"), 1, "leaving 1");
	is_int(rs.status, 0, "no response was set");

	/* The answer over a limit. */
	ratelimit_refuse(&rs, 1500);
	is_int(rs.status, 429, "refused: 429");
	is_str(buf_str(&rs.body), "{\"errcode\":\"M_LIMIT_EXCEEDED\","
	    "\"error\":\"Too many requests; try again later\","
	    "\"retry_after_ms\":1500}", "M_LIMIT_EXCEEDED with retry_after_ms");
	ratelimit_refuse(&rs, 0);
	ok(strstr(buf_str(&rs.body), "\"retry_after_ms\":1}") != NULL,
	    "retry_after_ms is at least 1");
	resp_free(&rs);

	/* A process that serves one request (CGI) asks for no lease. */
	ratelimit_no_leases();
	is_int(ratelimit_want(&big, 1), 1, "no leases: only the cost");
	return done_testing();
}
