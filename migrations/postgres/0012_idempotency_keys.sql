-- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) on the
-- trigger and the bulk trigger. One row per (credential owner, key): the
-- primary key decides, across instances, which request runs under a key.
-- A request that changed jobs writes its answer (DONE, status, body) in the
-- transaction of its transitions, so a key never replays an answer that
-- disagrees with what committed. An IN_PROGRESS row older than the lease is
-- taken over by a retry (the conditional status change keeps that
-- exactly-once); rows older than 24 hours are deleted by later claims, a
-- bounded batch at a time. Not guarded like jobs and audit: keys are
-- updated (IN_PROGRESS -> DONE) and deleted by design.
CREATE TABLE idempotency_keys (
    owner           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('IN_PROGRESS', 'DONE')),
    response_status INTEGER,
    response_body   TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (owner, idempotency_key)
);

CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
