-- v2 sha256 lookups answered from the index alone.  A lookup of 10,000
-- hashes was 10,000 probes of bindings_lookup_hash plus a heap page
-- each: the index now carries the user ID too (INCLUDE), so a probe
-- reads index pages only while the table's visibility map says its rows
-- are visible to everyone, and the table (the biggest relation) need not
-- stay in shared_buffers for v2 lookups.
--
-- The hash is URL-safe base64, ASCII: its collation is "C", so that the
-- index compares bytes (memcmp rather than the locale's strcoll) and
-- sorts as the workers sort a list before sending it (strcmp), which
-- makes one lookup's probes walk the index in order.  Changing only the
-- collation of a text column does not rewrite the table.
DROP INDEX bindings_lookup_hash;
ALTER TABLE bindings ALTER COLUMN lookup_hash TYPE text COLLATE "C";
CREATE INDEX bindings_lookup_hash ON bindings (lookup_hash) INCLUDE (mxid);

-- Index-only scans skip the heap only for pages marked all-visible,
-- which a vacuum does: binds update rows and clear those marks.
-- Vacuum bindings after 1% of it changed (the default waits for 20%, a
-- fifth of a million-row table), whether by updates or by inserts.
ALTER TABLE bindings SET (autovacuum_vacuum_scale_factor = 0.01,
	autovacuum_vacuum_insert_scale_factor = 0.01,
	autovacuum_analyze_scale_factor = 0.02);
