-- Exact job counts per (target type, status), kept by a trigger in the same
-- transaction as every insert and every status change, whoever writes the
-- row (this product, a producer's own SQL). Each key is spread over 16
-- shards, chosen per transaction, so concurrent triggers rarely wait on the
-- same counter row, and a transaction that inserts many jobs locks one row
-- per (target type, status), not sixteen; a read sums the shards. The
-- figures are derived data: `regen-admin stats check` recounts and compares.

CREATE TABLE regeneration_job_counts (
    target_type TEXT COLLATE "C" NOT NULL,
    status      TEXT NOT NULL,
    shard       SMALLINT NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 15),
    jobs        BIGINT NOT NULL,
    PRIMARY KEY (target_type, status, shard)
);

CREATE FUNCTION regen_count_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := txid_current() % 16;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status = OLD.status THEN
            RETURN NULL;
        END IF;
        INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
            VALUES (OLD.target_type, OLD.status, slot, -1)
            ON CONFLICT (target_type, status, shard)
            DO UPDATE SET jobs = regeneration_job_counts.jobs - 1;
    END IF;
    INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
        VALUES (NEW.target_type, NEW.status, slot, 1)
        ON CONFLICT (target_type, status, shard)
        DO UPDATE SET jobs = regeneration_job_counts.jobs + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER regeneration_jobs_count AFTER INSERT OR UPDATE OF status ON regeneration_jobs
    FOR EACH ROW EXECUTE FUNCTION regen_count_jobs();

INSERT INTO regeneration_job_counts (target_type, status, shard, jobs)
    SELECT target_type, status, 0, COUNT(*) FROM regeneration_jobs GROUP BY target_type, status;

-- The oldest PENDING job, overall and per target type, in one index probe.
CREATE INDEX regeneration_jobs_by_type_and_status
    ON regeneration_jobs (target_type, status, created_at, id);
