-- Regeneration jobs, their audit trail, and the accounts that may see them.
-- Times are TEXT in the fixed-width form YYYY-MM-DDTHH:MM:SS.mmmZ (collation
-- "C"), the same representation as on SQLite, so text order is time order.

CREATE TABLE regeneration_jobs (
    id               TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) = 36 AND id = lower(id)),
    status           TEXT NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED')),
    target_type      TEXT COLLATE "C" NOT NULL CHECK (length(target_type) BETWEEN 1 AND 200),
    target_id        TEXT COLLATE "C" NOT NULL CHECK (length(target_id) BETWEEN 1 AND 200),
    created_at       TEXT COLLATE "C" NOT NULL CHECK (created_at ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$'),
    created_by       TEXT NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
    -- The JSON payloads come last: SQLite reads a row's columns in order,
    -- so listing columns stored after a multi-megabyte value would walk its
    -- overflow pages on every listing.
    output_ref       TEXT CHECK (output_ref IS NULL OR (output_ref::json IS NOT NULL)),
    error_json       TEXT CHECK (error_json IS NULL OR (error_json::json IS NOT NULL)),
    instruction_json TEXT NOT NULL CHECK (instruction_json::json IS NOT NULL)
);

CREATE INDEX regeneration_jobs_by_time ON regeneration_jobs (created_at DESC, id DESC);
CREATE INDEX regeneration_jobs_by_status ON regeneration_jobs (status, created_at DESC, id DESC);
CREATE INDEX regeneration_jobs_by_target_type ON regeneration_jobs (target_type, created_at DESC, id DESC);
CREATE INDEX regeneration_jobs_by_target_id ON regeneration_jobs (target_id, created_at DESC, id DESC);

CREATE TABLE audit_events (
    id          TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) = 36),
    event_type  TEXT NOT NULL CHECK (event_type IN ('REGEN_JOB_CREATED', 'REGEN_JOB_TRIGGERED', 'REGEN_JOB_COMPLETED', 'REGEN_JOB_FAILED')),
    job_id      TEXT COLLATE "C" NOT NULL REFERENCES regeneration_jobs (id),
    actor       TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    occurred_at TEXT COLLATE "C" NOT NULL CHECK (length(occurred_at) = 24),
    request_id  TEXT,
    details     TEXT CHECK (details IS NULL OR (details::json IS NOT NULL))
);
CREATE INDEX audit_events_by_job ON audit_events (job_id, occurred_at, id);

CREATE FUNCTION regen_guard_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'regen_guard: % rows are insert-only', TG_TABLE_NAME USING ERRCODE = 'RG001';
END;
$$;

CREATE FUNCTION regen_guard_job_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.target_type IS DISTINCT FROM OLD.target_type
       OR NEW.target_id IS DISTINCT FROM OLD.target_id
       OR NEW.instruction_json IS DISTINCT FROM OLD.instruction_json
       OR NEW.output_ref IS DISTINCT FROM OLD.output_ref
       OR NEW.error_json IS DISTINCT FROM OLD.error_json
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        RAISE EXCEPTION 'regen_guard: only the status of a regeneration job may change' USING ERRCODE = 'RG001';
    END IF;
    IF NOT (OLD.status = 'PENDING' AND NEW.status = 'RUNNING') THEN
        RAISE EXCEPTION 'regen_guard: the only allowed status change is PENDING to RUNNING' USING ERRCODE = 'RG001';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER regeneration_jobs_no_delete BEFORE DELETE ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_guard_insert_only();
CREATE TRIGGER regeneration_jobs_no_truncate BEFORE TRUNCATE ON regeneration_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION regen_guard_insert_only();
CREATE TRIGGER regeneration_jobs_guard_update BEFORE UPDATE ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_guard_job_update();

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION regen_guard_insert_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION regen_guard_insert_only();

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    created_at   TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
