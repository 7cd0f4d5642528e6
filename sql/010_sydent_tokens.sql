-- The access tokens deploy/sigil-import-sydent brought from sydent, so
-- that a later run (the cut-over's second import) removes those sydent
-- no longer has: logged out meanwhile.  Tokens sigil issued are never
-- listed here.
CREATE TABLE sydent_tokens (
	token_hash	text PRIMARY KEY
	    REFERENCES account_tokens ON DELETE CASCADE
);
