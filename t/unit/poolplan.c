/*
 * Unit tests for pool_plan() (common/pool.c): what sigil-supervise
 * decides for a pool from its figures, settings and the clock.
 */
#include <string.h>

#include "pool.h"
#include "tap.h"

#define NOW	1000

static struct pool_slot	 slots[POOL_MAX_SLOTS];
static struct pool_plan	 pl;

/* Empties every slot. */
static void
reset(void)
{
	memset(slots, 0, sizeof(slots));
}

/* Slot i runs a worker started ago seconds back, with a row. */
static void
worker(int i, time_t ago, int busy, uint64_t idle_s, uint64_t served)
{
	slots[i].state = POOL_SLOT_RUNNING;
	slots[i].started = NOW - ago;
	slots[i].has_row = 1;
	slots[i].busy = busy;
	slots[i].idle_us = idle_s * 1000000;
	slots[i].served = served;
}

/* Plans for settings min-max; queue < 0: the kernel does not tell. */
static void
plan(int min, int max, int idle, uint64_t max_requests, long long queue)
{
	struct pool_settings set = { min, max, idle, max_requests };
	struct pool_state st = { slots, queue >= 0,
			    queue >= 0 ? (uint64_t)queue : 0, NOW };

	pool_plan(&set, &st, &pl);
}

/* How many slots of the first n the plan gives action a. */
static int
count(int n, enum pool_action a)
{
	int	 i, k = 0;

	for (i = 0; i < n; i++)
		k += pl.act[i] == a;
	return k;
}

int
main(void)
{
	int	 i;

	/* Grow: connections wait and every worker is busy. */
	reset();
	worker(0, 30, 1, 0, 5);
	worker(1, 30, 1, 0, 5);
	plan(2, 6, 10, 0, 3);
	is_int(pl.grow, 3, "3 waiting, all busy: 3 more");
	is_int(count(6, POOL_START), 3, "three slots started");
	ok(pl.act[2] == POOL_START && pl.act[4] == POOL_START &&
	    pl.act[0] == POOL_KEEP, "in the first empty slots");
	is_int(pl.saturated, 0, "not saturated while growing");

	/* No growth while one worker is free. */
	worker(1, 30, 0, 0, 5);
	plan(2, 6, 10, 0, 3);
	is_int(pl.grow, 0, "one free worker: no growth");
	is_int(count(6, POOL_STOP_IDLE), 0, "and no stop with a queue");

	/* Growth is capped by max and by the step. */
	reset();
	worker(0, 30, 1, 0, 0);
	plan(1, 40, 10, 0, 100);
	is_int(pl.grow, POOL_GROW_STEP, "at most %d a tick", POOL_GROW_STEP);
	reset();
	for (i = 0; i < 4; i++)
		worker(i, 30, 1, 0, 0);
	plan(1, 4, 10, 0, 9);
	is_int(pl.grow, 0, "at max: no growth");
	is_int(count(4, POOL_START), 0, "no slot started");
	is_int(pl.saturated, 1, "at max, all busy, a queue: saturated");
	plan(1, 4, 10, 0, 0);
	is_int(pl.saturated, 0, "no queue: not saturated");

	/* A worker restarting counts toward max. */
	reset();
	worker(0, 30, 1, 0, 0);
	slots[1].state = POOL_SLOT_RESTARTING;
	plan(1, 2, 10, 0, 5);
	is_int(pl.grow, 0, "a restarting slot is occupied");
	is_int(pl.total, 2, "total counts it");

	/* Shrink: idle past the timeout, down to min. */
	reset();
	for (i = 0; i < 5; i++)
		worker(i, 60, 0, 20, 0);
	worker(5, 60, 0, 3, 0);		/* idle, not long enough */
	worker(6, 60, 1, 0, 0);		/* busy */
	plan(3, 8, 10, 0, 0);
	is_int(count(8, POOL_STOP_IDLE), 4, "7 running, min 3: 4 stop");
	ok(pl.act[5] == POOL_KEEP && pl.act[6] == POOL_KEEP,
	    "not the recently idle nor the busy one");
	ok(pl.act[4] == POOL_KEEP, "the first idle ones go, the fifth stays");
	plan(3, 8, 30, 0, 0);
	is_int(count(8, POOL_STOP_IDLE), 0, "none idle past 30 s: none stop");
	for (i = 0; i < 4; i++)		/* the four stopped */
		slots[i].state = POOL_SLOT_STOPPING_IDLE;
	plan(3, 8, 10, 0, 0);
	is_int(pl.total, 3, "those stopping are not counted");
	is_int(count(8, POOL_STOP_IDLE), 0, "at min: no more stop");
	/* A worker without a row (rows not read) never stops idle. */
	reset();
	worker(0, 60, 0, 20, 0);
	worker(1, 60, 0, 20, 0);
	slots[1].has_row = 0;
	plan(0, 2, 10, 0, 0);
	is_int(count(2, POOL_STOP_IDLE), 1, "only the one with a row stops");
	is_int(pl.running, 1, "one without a row after 5 s is not counted");

	/* Recycle after max_requests: one a tick, not one just started. */
	reset();
	worker(0, 0, 0, 0, 500);	/* started this second */
	worker(1, 30, 0, 0, 499);
	worker(2, 30, 1, 0, 500);
	worker(3, 30, 0, 0, 900);
	plan(4, 4, 10, 500, 0);
	is_int(count(4, POOL_RECYCLE), 1, "one recycled a tick");
	ok(pl.act[2] == POOL_RECYCLE, "the first past max_requests");
	ok(pl.act[0] == POOL_KEEP, "not one started within the second");
	plan(4, 4, 10, 0, 0);
	is_int(count(4, POOL_RECYCLE), 0, "max_requests 0: never");
	slots[2].state = POOL_SLOT_STOPPING_RECYCLE;
	plan(4, 4, 10, 500, 0);
	ok(pl.act[3] == POOL_RECYCLE, "the next tick the next one");
	is_int(pl.total, 4, "one being replaced stays counted");
	/* A recycled one is not also stopped idle. */
	reset();
	worker(0, 30, 0, 60, 700);
	worker(1, 30, 0, 60, 0);
	plan(0, 2, 10, 500, 0);
	ok(pl.act[0] == POOL_RECYCLE && pl.act[1] == POOL_STOP_IDLE,
	    "recycle one, stop the other idle");

	/* Blind: no queue figure; all busy stands for one waiting. */
	reset();
	worker(0, 30, 1, 0, 0);
	worker(1, 30, 1, 0, 0);
	plan(1, 4, 10, 0, -1);
	is_int(pl.grow, 1, "blind, all busy: one more");
	is_int((long long)pl.queue, 1, "taken as one waiting");
	worker(1, 30, 0, 0, 0);
	plan(1, 4, 10, 0, -1);
	is_int(pl.grow, 0, "blind, one free: none");
	/* The 0-N pool: blind, it keeps one however long idle. */
	reset();
	worker(0, 60, 0, 600, 0);
	worker(1, 60, 0, 600, 0);
	plan(0, 4, 10, 0, -1);
	is_int(pl.grow, 0, "blind, idle: no growth");
	is_int(count(4, POOL_STOP_IDLE), 1, "blind 0-4: stops down to one");
	ok(pl.act[1] == POOL_KEEP, "and keeps the last");
	plan(0, 4, 10, 0, 0);
	is_int(count(4, POOL_STOP_IDLE), 2, "with the queue: down to 0");
	/* Blind with none running: stands for one waiting, starts one. */
	reset();
	plan(0, 4, 10, 0, -1);
	is_int(pl.grow, 1, "blind 0-4 with none: starts one");
	/* Known queue, none running, nothing waiting: stays at 0. */
	plan(0, 4, 10, 0, 0);
	is_int(pl.grow, 0, "0-4, nothing waiting: stays empty");
	plan(0, 4, 10, 0, 2);
	is_int(pl.grow, 2, "0-4, 2 waiting: starts 2");

	/* A young worker without a row yet counts as running, not busy. */
	reset();
	worker(0, 30, 1, 0, 0);
	worker(1, 2, 0, 0, 0);
	slots[1].has_row = 0;
	plan(1, 4, 10, 0, 5);
	is_int(pl.running, 2, "a starting one is counted");
	is_int(pl.grow, 0, "and is free: no growth");
	return done_testing();
}
