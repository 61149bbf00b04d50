-- Jobs over time, per hour (UTC): how many jobs created in each hour have
-- each status now, and how many triggers happened in each hour. Kept by
-- triggers in the same transaction as every insert, status change and
-- REGEN_JOB_TRIGGERED audit row, like the counts of 0002, so the activity
-- chart costs the same at any number of jobs. Days are sums of 24 hours.
-- Each key is spread over the same 16 shards as the counts, chosen per
-- transaction, so concurrent triggers rarely wait on one row.
-- `regen-admin stats check` recounts these too.

CREATE TABLE regeneration_job_activity (
    hour        TEXT COLLATE "C" NOT NULL CHECK (length(hour) = 24),
    target_type TEXT COLLATE "C" NOT NULL,
    series      TEXT NOT NULL CHECK (series IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'TRIGGERED')),
    shard       SMALLINT NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 15),
    jobs        BIGINT NOT NULL,
    PRIMARY KEY (hour, target_type, series, shard)
);
-- Every insert and trigger rewrites a few of these rows. Half-empty pages
-- let PostgreSQL update them in place (HOT, no index entry per version), and
-- a vacuum after every thousand dead versions keeps a million imports from
-- leaving the table a hundred times its live size (measured: 117 MB for
-- 14,420 rows, 30 ms a read, before these settings).
ALTER TABLE regeneration_job_activity SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 1000
);

-- A bulk import (`SET LOCAL regen.activity_shard = '0'`) writes one shard:
-- spread over all sixteen, a million imported jobs would leave sixteen rows
-- per key for every read to sum. Triggers, which run concurrently, spread.
CREATE FUNCTION regen_job_activity_add(at_hour TEXT, kind TEXT, name TEXT, delta INTEGER)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO regeneration_job_activity (hour, target_type, series, shard, jobs)
        VALUES (at_hour, kind, name,
                COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                         txid_current() % 16),
                delta)
        ON CONFLICT (hour, target_type, series, shard)
        DO UPDATE SET jobs = regeneration_job_activity.jobs + delta;
$$;

CREATE FUNCTION regen_job_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status = OLD.status THEN
            RETURN NULL;
        END IF;
        PERFORM regen_job_activity_add(substr(OLD.created_at, 1, 13) || ':00:00.000Z', OLD.target_type, OLD.status, -1);
    END IF;
    PERFORM regen_job_activity_add(substr(NEW.created_at, 1, 13) || ':00:00.000Z', NEW.target_type, NEW.status, 1);
    RETURN NULL;
END;
$$;

CREATE TRIGGER regeneration_jobs_activity AFTER INSERT OR UPDATE OF status ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_job_activity();

-- A trigger counts when its audit row is written (also when a journaled
-- event is replayed), in the hour it occurred.
CREATE FUNCTION regen_trigger_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regen_job_activity_add(substr(NEW.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, 'TRIGGERED', 1)
        FROM regeneration_jobs j WHERE j.id = NEW.job_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_activity AFTER INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.event_type = 'REGEN_JOB_TRIGGERED')
    EXECUTE FUNCTION regen_trigger_activity();

INSERT INTO regeneration_job_activity (hour, target_type, series, shard, jobs)
    SELECT substr(created_at, 1, 13) || ':00:00.000Z', target_type, status, 0, COUNT(*)
    FROM regeneration_jobs GROUP BY 1, 2, 3;
INSERT INTO regeneration_job_activity (hour, target_type, series, shard, jobs)
    SELECT substr(a.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, 'TRIGGERED', 0, COUNT(*)
    FROM audit_events a JOIN regeneration_jobs j ON j.id = a.job_id
    WHERE a.event_type = 'REGEN_JOB_TRIGGERED' GROUP BY 1, 2;
