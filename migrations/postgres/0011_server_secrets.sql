-- Secrets the server keeps for itself, one per purpose (e.g. the key that
-- signs device cookies). In the database, so that every instance signs and
-- checks with the same one; the first instance to need one generates it.
CREATE TABLE server_secrets (
    purpose    TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
