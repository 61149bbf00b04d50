-- Credentials that can be taken back: disabled accounts, scoped, labelled,
-- expiring and revocable API tokens, sessions that can be listed and ended
-- one by one, and a login throttle every instance shares.

ALTER TABLE users ADD COLUMN disabled_at TEXT;
ALTER TABLE users ADD COLUMN last_login_at TEXT;

ALTER TABLE api_tokens ADD COLUMN label TEXT CHECK (label IS NULL OR length(label) BETWEEN 1 AND 100);
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin' CHECK (scope IN ('read', 'admin'));
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, created_at);

-- A session's public id (shown on the account page and by `session list`)
-- is not its secret: the cookie carries the secret, `id_hash` its SHA-256.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN client_address TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
UPDATE sessions SET id = md5(random()::text || id_hash) WHERE id IS NULL;
CREATE UNIQUE INDEX sessions_by_id ON sessions (id);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

-- One row per key an attempt counts against (a hash of the client address,
-- of the user name, of the pair), so every instance sees every attempt.
CREATE TABLE login_attempts (
    throttle_key TEXT NOT NULL,
    attempted_at TEXT NOT NULL,
    attempt_id   TEXT NOT NULL,
    PRIMARY KEY (throttle_key, attempted_at, attempt_id)
);
CREATE INDEX login_attempts_by_time ON login_attempts (attempted_at);
