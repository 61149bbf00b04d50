-- New jobs are counted once per INSERT statement instead of once per row.
--
-- A producer that imports with its own SQL (`INSERT … SELECT`, multi-row
-- VALUES) used to rewrite the same counter rows once per inserted job, all
-- inside one transaction, where no row version can be pruned: an import of
-- ten million jobs in 10,000-row statements left `regeneration_job_activity`
-- at 1.2 GB for 2,880 live rows, and autovacuum then worked through it under
-- the chart's reads. A statement-level trigger sees every row the statement
-- inserted (a transition table) and adds them with one upsert per counter
-- row. A one-row INSERT still makes one upsert per table, as before.
--
-- Status changes stay row-level: a trigger updates one job, and that path
-- is the one whose throughput the counters must not slow down.

DROP TRIGGER regeneration_jobs_figures ON regeneration_jobs;

CREATE OR REPLACE FUNCTION regen_keep_job_figures() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := txid_current() % 16;
    activity_slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                                       slot);
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
        VALUES (OLD.target_type, OLD.status, slot, -1), (NEW.target_type, NEW.status, slot, 1)
        ON CONFLICT (target_type, status, shard)
        DO UPDATE SET jobs = regeneration_job_counts.jobs + EXCLUDED.jobs;
    -- The job leaves one column of its creation hour's row and enters another.
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
    RETURN NULL;
END;
$$;

CREATE TRIGGER regeneration_jobs_figures AFTER UPDATE OF status ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_keep_job_figures();

CREATE FUNCTION regen_count_inserted_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := txid_current() % 16;
    -- A bulk import writes one activity shard (`SET LOCAL regen.activity_shard`).
    activity_slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                                       slot);
BEGIN
    -- GROUP BY gives each counter row at most one proposed row, which is
    -- what ON CONFLICT DO UPDATE requires of a single statement.
    INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
        SELECT target_type, status, slot, COUNT(*) FROM inserted_jobs GROUP BY target_type, status
        ON CONFLICT (target_type, status, shard)
        DO UPDATE SET jobs = regeneration_job_counts.jobs + EXCLUDED.jobs;
    INSERT INTO regeneration_job_activity (hour, target_type, shard, pending, running, completed, failed)
        SELECT substr(created_at, 1, 13) || ':00:00.000Z', target_type, activity_slot,
               COUNT(*) FILTER (WHERE status = 'PENDING'),
               COUNT(*) FILTER (WHERE status = 'RUNNING'),
               COUNT(*) FILTER (WHERE status = 'COMPLETED'),
               COUNT(*) FILTER (WHERE status = 'FAILED')
        FROM inserted_jobs GROUP BY 1, target_type
        ON CONFLICT (hour, target_type, shard) DO UPDATE SET
            pending = regeneration_job_activity.pending + EXCLUDED.pending,
            running = regeneration_job_activity.running + EXCLUDED.running,
            completed = regeneration_job_activity.completed + EXCLUDED.completed,
            failed = regeneration_job_activity.failed + EXCLUDED.failed;
    RETURN NULL;
END;
$$;

CREATE TRIGGER regeneration_jobs_figures_insert AFTER INSERT ON regeneration_jobs
    REFERENCING NEW TABLE AS inserted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION regen_count_inserted_jobs();
