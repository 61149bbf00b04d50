-- A listing filter that no index serves in full is checked on the rows its
-- driving index yields, up to the scan budget (crates/storage/src/listing.rs).
-- Measured at ten million jobs (`bench/run --scale`), a page of
-- targetType + createdBy read 10,000 table rows just to look at their target
-- type: 18 ms p50, 140 ms p99 on SQLite. With the columns such filters check
-- stored in the driving indexes, they are checked on index entries and only
-- the page's own rows are read: 1.6 ms p50, 8.5 ms p99 on the same data.
-- (The keyset columns stay first, so every listing keeps its order.)
--
-- Rebuilding these indexes holds the table's write lock while it runs:
-- about a minute per ten million jobs.

DROP INDEX regeneration_jobs_by_created_by;
CREATE INDEX regeneration_jobs_by_created_by
    ON regeneration_jobs (created_by, created_at DESC, id DESC, target_type, status);

DROP INDEX regeneration_jobs_by_target_type;
CREATE INDEX regeneration_jobs_by_target_type
    ON regeneration_jobs (target_type, created_at DESC, id DESC, status);

DROP INDEX regeneration_jobs_by_time;
CREATE INDEX regeneration_jobs_by_time
    ON regeneration_jobs (created_at DESC, id DESC, status);

-- The counts (0002) and the activity (0006) of a job are kept by one
-- trigger function whose statements are plpgsql's own, with cached plans.
-- The activity's SQL helper function was planned again on every call and
-- cost more than everything else a trigger does (measured at ten million
-- jobs, 32 clients: 1,430 triggers/s with the counters against 1,996
-- without; with this function 1,702 against 1,841 in the same run).
CREATE OR REPLACE FUNCTION regen_keep_job_figures() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := txid_current() % 16;
    -- A bulk import writes one activity shard (`SET LOCAL regen.activity_shard`).
    activity_slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                                       slot);
    created_hour TEXT := substr(NEW.created_at, 1, 13) || ':00:00.000Z';
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status = OLD.status THEN
            RETURN NULL;
        END IF;
        INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
            VALUES (OLD.target_type, OLD.status, slot, -1)
            ON CONFLICT (target_type, status, shard)
            DO UPDATE SET jobs = regeneration_job_counts.jobs - 1;
        INSERT INTO regeneration_job_activity (hour, target_type, series, shard, jobs)
            VALUES (created_hour, OLD.target_type, OLD.status, activity_slot, -1)
            ON CONFLICT (hour, target_type, series, shard)
            DO UPDATE SET jobs = regeneration_job_activity.jobs - 1;
    END IF;
    INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
        VALUES (NEW.target_type, NEW.status, slot, 1)
        ON CONFLICT (target_type, status, shard)
        DO UPDATE SET jobs = regeneration_job_counts.jobs + 1;
    INSERT INTO regeneration_job_activity (hour, target_type, series, shard, jobs)
        VALUES (created_hour, NEW.target_type, NEW.status, activity_slot, 1)
        ON CONFLICT (hour, target_type, series, shard)
        DO UPDATE SET jobs = regeneration_job_activity.jobs + 1;
    RETURN NULL;
END;
$$;
DROP TRIGGER regeneration_jobs_count ON regeneration_jobs;
DROP TRIGGER regeneration_jobs_activity ON regeneration_jobs;
CREATE TRIGGER regeneration_jobs_figures AFTER INSERT OR UPDATE OF status ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_keep_job_figures();
DROP FUNCTION regen_count_jobs();
DROP FUNCTION regen_job_activity();

CREATE OR REPLACE FUNCTION regen_trigger_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                              txid_current() % 16);
BEGIN
    INSERT INTO regeneration_job_activity (hour, target_type, series, shard, jobs)
        SELECT substr(NEW.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, 'TRIGGERED', slot, 1
        FROM regeneration_jobs j WHERE j.id = NEW.job_id
        ON CONFLICT (hour, target_type, series, shard)
        DO UPDATE SET jobs = regeneration_job_activity.jobs + 1;
    RETURN NULL;
END;
$$;

DROP FUNCTION regen_job_activity_add(TEXT, TEXT, TEXT, INTEGER);
