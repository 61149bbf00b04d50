-- Regeneration jobs, their audit trail, and the accounts that may see them.
-- Times are TEXT in the fixed-width form YYYY-MM-DDTHH:MM:SS.mmmZ, so text
-- order is time order.

CREATE TABLE regeneration_jobs (
    id               TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36 AND id = lower(id)),
    status           TEXT NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')),
    target_type      TEXT NOT NULL CHECK (length(target_type) BETWEEN 1 AND 200),
    target_id        TEXT NOT NULL CHECK (length(target_id) BETWEEN 1 AND 200),
    created_at       TEXT NOT NULL CHECK (length(created_at) = 24 AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'),
    created_by       TEXT NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
    -- The JSON payloads come last: SQLite reads a row's columns in order,
    -- so listing columns stored after a multi-megabyte value would walk its
    -- overflow pages on every listing.
    output_ref       TEXT CHECK (output_ref IS NULL OR json_valid(output_ref)),
    error_json       TEXT CHECK (error_json IS NULL OR json_valid(error_json)),
    instruction_json TEXT NOT NULL CHECK (json_valid(instruction_json))
);

-- Keyset pagination: every listing walks one of these in (created_at, id) order.
CREATE INDEX regeneration_jobs_by_time ON regeneration_jobs (created_at DESC, id DESC);
CREATE INDEX regeneration_jobs_by_status ON regeneration_jobs (status, created_at DESC, id DESC);
CREATE INDEX regeneration_jobs_by_target_type ON regeneration_jobs (target_type, created_at DESC, id DESC);
CREATE INDEX regeneration_jobs_by_target_id ON regeneration_jobs (target_id, created_at DESC, id DESC);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    event_type  TEXT NOT NULL CHECK (event_type IN ('REGEN_JOB_CREATED', 'REGEN_JOB_TRIGGERED', 'REGEN_JOB_COMPLETED', 'REGEN_JOB_FAILED')),
    job_id      TEXT NOT NULL REFERENCES regeneration_jobs (id),
    actor       TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    occurred_at TEXT NOT NULL CHECK (length(occurred_at) = 24),
    request_id  TEXT,
    details     TEXT CHECK (details IS NULL OR json_valid(details))
);
CREATE INDEX audit_events_by_job ON audit_events (job_id, occurred_at, id);

-- Insert-only jobs. A BEFORE INSERT guard also stops INSERT OR REPLACE and
-- upserts, whose implicit delete would not fire a delete trigger.
CREATE TRIGGER regeneration_jobs_no_replace BEFORE INSERT ON regeneration_jobs
WHEN EXISTS (SELECT 1 FROM regeneration_jobs WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: regeneration jobs are insert-only');
END;

CREATE TRIGGER regeneration_jobs_no_delete BEFORE DELETE ON regeneration_jobs
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: regeneration jobs are insert-only');
END;

CREATE TRIGGER regeneration_jobs_only_status_changes BEFORE UPDATE ON regeneration_jobs
WHEN NEW.id IS NOT OLD.id
  OR NEW.target_type IS NOT OLD.target_type
  OR NEW.target_id IS NOT OLD.target_id
  OR NEW.instruction_json IS NOT OLD.instruction_json
  OR NEW.output_ref IS NOT OLD.output_ref
  OR NEW.error_json IS NOT OLD.error_json
  OR NEW.created_at IS NOT OLD.created_at
  OR NEW.created_by IS NOT OLD.created_by
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: only the status of a regeneration job may change');
END;

CREATE TRIGGER regeneration_jobs_only_pending_to_running BEFORE UPDATE OF status ON regeneration_jobs
WHEN NOT (OLD.status = 'PENDING' AND NEW.status = 'RUNNING')
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: the only allowed status change is PENDING to RUNNING');
END;

CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events
WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: audit events are insert-only');
END;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: audit events are insert-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'regen_guard: audit events are insert-only');
END;

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- Only the SHA-256 of a token is stored; the token itself is shown once.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);

-- Sessions live in the database so that every instance accepts them. The
-- cookie carries the session secret; only its SHA-256 is stored.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
