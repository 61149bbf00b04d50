-- Jobs over time, per hour (UTC): how many jobs created in each hour have
-- each status now, and how many triggers happened in each hour. Kept by
-- triggers in the same transaction as every insert, status change and
-- REGEN_JOB_TRIGGERED audit row, like the counts of 0002, so the activity
-- chart costs the same at any number of jobs. Days are sums of 24 hours.
-- `regen-admin stats check` recounts these too.

CREATE TABLE regeneration_job_activity (
    hour        TEXT NOT NULL CHECK (length(hour) = 24),
    target_type TEXT NOT NULL,
    series      TEXT NOT NULL CHECK (series IN ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'TRIGGERED')),
    jobs        INTEGER NOT NULL,
    PRIMARY KEY (hour, target_type, series)
) WITHOUT ROWID;

CREATE TRIGGER regeneration_jobs_activity_insert AFTER INSERT ON regeneration_jobs
BEGIN
    INSERT INTO regeneration_job_activity (hour, target_type, series, jobs)
        VALUES (substr(NEW.created_at, 1, 13) || ':00:00.000Z', NEW.target_type, NEW.status, 1)
        ON CONFLICT (hour, target_type, series) DO UPDATE SET jobs = jobs + 1;
END;

CREATE TRIGGER regeneration_jobs_activity_status AFTER UPDATE OF status ON regeneration_jobs
WHEN NEW.status IS NOT OLD.status
BEGIN
    UPDATE regeneration_job_activity SET jobs = jobs - 1
        WHERE hour = substr(OLD.created_at, 1, 13) || ':00:00.000Z'
          AND target_type = OLD.target_type AND series = OLD.status;
    INSERT INTO regeneration_job_activity (hour, target_type, series, jobs)
        VALUES (substr(NEW.created_at, 1, 13) || ':00:00.000Z', NEW.target_type, NEW.status, 1)
        ON CONFLICT (hour, target_type, series) DO UPDATE SET jobs = jobs + 1;
END;

-- A trigger counts when its audit row is written (also when a journaled
-- event is replayed), in the hour it occurred.
CREATE TRIGGER audit_events_activity AFTER INSERT ON audit_events
WHEN NEW.event_type = 'REGEN_JOB_TRIGGERED'
BEGIN
    INSERT INTO regeneration_job_activity (hour, target_type, series, jobs)
        SELECT substr(NEW.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, 'TRIGGERED', 1
        FROM regeneration_jobs j WHERE j.id = NEW.job_id
        ON CONFLICT (hour, target_type, series) DO UPDATE SET jobs = jobs + 1;
END;

INSERT INTO regeneration_job_activity (hour, target_type, series, jobs)
    SELECT substr(created_at, 1, 13) || ':00:00.000Z', target_type, status, COUNT(*)
    FROM regeneration_jobs GROUP BY 1, 2, 3;
INSERT INTO regeneration_job_activity (hour, target_type, series, jobs)
    SELECT substr(a.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, 'TRIGGERED', COUNT(*)
    FROM audit_events a JOIN regeneration_jobs j ON j.id = a.job_id
    WHERE a.event_type = 'REGEN_JOB_TRIGGERED' GROUP BY 1, 2;
