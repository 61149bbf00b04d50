-- The time index holds every column a job summary shows, so a listing or a
-- CSV export in time order can be an index-only scan (as SQLite's is since
-- its 0012): see that migration for the figures.
--
-- Rebuilding it blocks writes to the table while it runs.

DROP INDEX regeneration_jobs_by_time;
CREATE INDEX regeneration_jobs_by_time
    ON regeneration_jobs (created_at DESC, id DESC, status) INCLUDE (target_type, target_id, created_by);
