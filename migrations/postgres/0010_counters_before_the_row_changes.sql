-- A trigger's counters are kept by BEFORE row triggers, and the job's two
-- upserts run as one statement.
--
-- Measured on a million jobs with the application's trigger transaction
-- (bench/NOTES.md, sixth session): the AFTER row triggers queue each event
-- and fetch the row again when the statement ends, and the two upserts of
-- the job's trigger were two executor runs; together the counters added
-- 0.27 ms to a 0.66 ms transaction, and 0.15 ms in this form.
--
-- Counting before the row is written is exact: PostgreSQL locks the row and
-- re-checks the UPDATE's condition before it calls a BEFORE UPDATE trigger
-- (two racing triggers of one job count once), and anything that fails
-- later in the statement (the guard trigger, a constraint) rolls the
-- counting back with it. No trigger on these tables returns NULL to skip a
-- row, which would leave a count without its row.
--
-- Same names, same figures, same `stats check` and `stats rebuild`.

DROP TRIGGER regeneration_jobs_figures ON regeneration_jobs;
DROP TRIGGER audit_events_activity ON audit_events;

CREATE OR REPLACE FUNCTION regen_keep_job_figures() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := txid_current() % 16;
    activity_slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                                       slot);
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    -- The job leaves one status count and enters another, and moves between
    -- two columns of its creation hour's activity row: one statement.
    WITH counted AS (
        INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
            VALUES (OLD.target_type, OLD.status, slot, -1), (NEW.target_type, NEW.status, slot, 1)
            ON CONFLICT (target_type, status, shard)
            DO UPDATE SET jobs = regeneration_job_counts.jobs + EXCLUDED.jobs
    )
    INSERT INTO regeneration_job_activity (hour, target_type, shard, pending, running, completed, failed)
        VALUES (substr(NEW.created_at, 1, 13) || ':00:00.000Z', NEW.target_type, activity_slot,
                (NEW.status = 'PENDING')::INT - (OLD.status = 'PENDING')::INT,
                (NEW.status = 'RUNNING')::INT - (OLD.status = 'RUNNING')::INT,
                (NEW.status = 'COMPLETED')::INT - (OLD.status = 'COMPLETED')::INT,
                (NEW.status = 'FAILED')::INT - (OLD.status = 'FAILED')::INT)
        ON CONFLICT (hour, target_type, shard) DO UPDATE SET
            pending = regeneration_job_activity.pending + EXCLUDED.pending,
            running = regeneration_job_activity.running + EXCLUDED.running,
            completed = regeneration_job_activity.completed + EXCLUDED.completed,
            failed = regeneration_job_activity.failed + EXCLUDED.failed;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION regen_trigger_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                              txid_current() % 16);
BEGIN
    INSERT INTO regeneration_job_activity (hour, target_type, shard, triggered)
        SELECT substr(NEW.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, slot, 1
        FROM regeneration_jobs j WHERE j.id = NEW.job_id
        ON CONFLICT (hour, target_type, shard)
        DO UPDATE SET triggered = regeneration_job_activity.triggered + 1;
    RETURN NEW;
END;
$$;

-- Named to fire before `regeneration_jobs_guard_update` (BEFORE triggers
-- fire in name order); when the guard refuses, the statement's counting is
-- rolled back with it.
CREATE TRIGGER regeneration_jobs_figures BEFORE UPDATE OF status ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_keep_job_figures();
CREATE TRIGGER audit_events_activity BEFORE INSERT ON audit_events
    FOR EACH ROW WHEN (NEW.event_type = 'REGEN_JOB_TRIGGERED') EXECUTE FUNCTION regen_trigger_activity();
