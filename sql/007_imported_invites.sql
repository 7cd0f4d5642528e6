-- Invites imported from sydent (deploy/sigil-import-sydent): sydent keeps
-- no link between an invite and its ephemeral key, so such invites have
-- none.  sign-ed25519 accepts for them a private key whose public key is
-- one of the ephemeral keys handed out (and still valid); invites sigil
-- makes always name their own key.
ALTER TABLE invites ALTER COLUMN ephemeral_public_key DROP NOT NULL;
