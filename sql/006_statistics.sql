-- Planner statistics for the one-row table lookup_pepper.  Without them
-- PostgreSQL guesses it holds about a thousand rows, prices the generic
-- plan of the one-hash lookup above the custom one, and so plans that
-- statement again on every request.  Autovacuum never analyzes a table
-- this small by itself; a pepper rotation changes no row count, so these
-- statistics stay right.
ANALYZE lookup_pepper;
