-- Who made a binding: 'user' (3pid/bind after a validated session; every
-- binding made before this file) or 'sync' (sigil-sync, from the
-- organisation's directory).  sigil-sync keeps the bindings it made equal
-- to its sources and never removes one a user made; binding again
-- replaces the row, origin included.
ALTER TABLE bindings ADD COLUMN origin text NOT NULL DEFAULT 'user'
    CHECK (origin IN ('user', 'sync'));
