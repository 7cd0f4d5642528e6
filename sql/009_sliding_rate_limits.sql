-- Rate limits as sliding windows instead of fixed ones.  A fixed window
-- let twice its limit through around a boundary (the limit at the end of
-- one window, the limit again at the start of the next).  Now a limit of
-- N per W ms is kept in slots of a tenth of W: a request is taken when
-- the units already taken in its own slot and the ten before it, which
-- cover at least the last W ms, leave room for its cost.  So no span of
-- W ms ever holds more than N; what the rule costs is that a unit is
-- forgotten up to W/10 later than W after it was taken.
--
-- One row per bucket, updated by one INSERT ... ON CONFLICT DO UPDATE
-- (common/db.c, STMT_RATE_TAKE) that reads PostgreSQL's clock, so that
-- every worker on every host counts against the same limit and the same
-- time.  Instead of one count per slot the row keeps running totals, so
-- that taking is one addition and sliding one array shift:
--   total      units taken since the row was made, up to slot `slot`
--   before[i]  what total was at the end of slot (slot - i), i = 1..11
-- The units in slots slot-10 .. slot are total - before[11].
--
-- A request may take more than it needs (common/ratelimit.c): its worker
-- then spends the rest on later requests of the same bucket until the
-- slot it was taken in ends, so that a busy bucket is written once every
-- many requests.  Units so leased count from when they were taken, and
-- are spent within their slot, so the rule above holds for what is
-- spent too.
--
-- The table is UNLOGGED: counters need no crash safety or replication,
-- and a transaction that writes only to it does not wait for a WAL flush
-- at commit, which keeps a limit on the lookups cheap.  A crash empties
-- it (every limit starts afresh).  The fixed-window counters of
-- 003_validation.sql are dropped with their table: after this migration
-- every limit starts afresh once.
DROP TABLE rate_limits;

CREATE UNLOGGED TABLE rate_limits (
	bucket		text PRIMARY KEY,	-- "ip:...", "user:...", ...
	slot_ms		bigint NOT NULL,	-- a tenth of the window
	slot		bigint NOT NULL,	-- the latest slot: ms / slot_ms
	total		bigint NOT NULL,
	before		bigint[] NOT NULL,	-- 11 totals, newest first
	granted		bigint NOT NULL		-- what the last request took
);
