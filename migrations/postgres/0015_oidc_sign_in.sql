-- Sign-in through an OpenID Connect provider (issue 35).
--
-- An SSO account is keyed by its provider's (issuer, subject), never by its
-- name: names change and can be reused, a subject cannot. Local accounts
-- have neither; an SSO account has both, and no password (its
-- `password_hash` is empty, which no password verifies).
ALTER TABLE users ADD COLUMN oidc_issuer TEXT
    CHECK (oidc_issuer IS NULL OR length(oidc_issuer) BETWEEN 1 AND 500);
ALTER TABLE users ADD COLUMN oidc_subject TEXT
    CHECK (oidc_subject IS NULL OR length(oidc_subject) BETWEEN 1 AND 255);
ALTER TABLE users ADD CONSTRAINT users_oidc_identity_whole
    CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL));
CREATE UNIQUE INDEX users_by_oidc_identity ON users (oidc_issuer, oidc_subject)
    WHERE oidc_issuer IS NOT NULL;

CREATE FUNCTION regen_oidc_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.oidc_issuer IS DISTINCT FROM OLD.oidc_issuer
       OR NEW.oidc_subject IS DISTINCT FROM OLD.oidc_subject THEN
        RAISE EXCEPTION 'regen_guard: an account''s SSO identity never changes'
            USING ERRCODE = 'RG001';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER users_oidc_identity_fixed BEFORE UPDATE OF oidc_issuer, oidc_subject ON users
    FOR EACH ROW EXECUTE FUNCTION regen_oidc_identity_fixed();

-- A session opened through SSO keeps the provider's ID token, server-side
-- only, so that logout can end the provider's session too (id_token_hint).
ALTER TABLE sessions ADD COLUMN id_token TEXT;

-- Sign-ins under way: one row per redirect to the provider, single use
-- (deleted when the browser comes back), 10 minutes at most. The state sent
-- to the provider and the browser's cookie are stored as SHA-256 hashes;
-- the nonce and the PKCE verifier must be read back as they are.
CREATE TABLE oidc_sign_ins (
    state_hash    TEXT PRIMARY KEY NOT NULL,
    browser_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path     TEXT NOT NULL CHECK (length(next_path) BETWEEN 1 AND 2048),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX oidc_sign_ins_by_expiry ON oidc_sign_ins (expires_at);
