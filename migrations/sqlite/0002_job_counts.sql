-- Exact job counts per (target type, status), kept by triggers in the same
-- transaction as every insert and every status change, whoever writes the
-- row (this product, a producer's own SQL). SQLite has one writer at a
-- time, so one row per key is enough. The figures are derived data:
-- `regen-admin stats check` recounts and compares.

CREATE TABLE regeneration_job_counts (
    target_type TEXT NOT NULL,
    status      TEXT NOT NULL,
    jobs        INTEGER NOT NULL,
    PRIMARY KEY (target_type, status)
) WITHOUT ROWID;

CREATE TRIGGER regeneration_jobs_count_insert AFTER INSERT ON regeneration_jobs
BEGIN
    INSERT INTO regeneration_job_counts (target_type, status, jobs)
        VALUES (NEW.target_type, NEW.status, 1)
        ON CONFLICT (target_type, status) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER regeneration_jobs_count_status AFTER UPDATE OF status ON regeneration_jobs
WHEN NEW.status IS NOT OLD.status
BEGIN
    UPDATE regeneration_job_counts SET jobs = jobs - 1
        WHERE target_type = OLD.target_type AND status = OLD.status;
    INSERT INTO regeneration_job_counts (target_type, status, jobs)
        VALUES (NEW.target_type, NEW.status, 1)
        ON CONFLICT (target_type, status) DO UPDATE SET jobs = jobs + 1;
END;

INSERT INTO regeneration_job_counts (target_type, status, jobs)
    SELECT target_type, status, COUNT(*) FROM regeneration_jobs GROUP BY target_type, status;

-- The oldest PENDING job, overall and per target type, in one index probe.
CREATE INDEX regeneration_jobs_by_type_and_status
    ON regeneration_jobs (target_type, status, created_at, id);
