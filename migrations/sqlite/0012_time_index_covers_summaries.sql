-- The time index holds every column a job summary shows, so a listing or a
-- CSV export in time order reads the index alone and never the table.
-- Newest first is the index's own order but the reverse of the table's
-- (jobs are inserted as they are created), and the operating system reads
-- ahead only forwards: at a million jobs, the first CSV export after a
-- restart read the table page by page backwards (9-12 s in the sqlite3
-- CLI). Read from this index: 1.3 s cold, 0.83 s warm (was 1.7 s). The
-- index grows by about 110 bytes per job (bench/NOTES.md, round 3).
--
-- Rebuilding it holds the table's write lock while it runs: a few seconds
-- per million jobs.

DROP INDEX regeneration_jobs_by_time;
CREATE INDEX regeneration_jobs_by_time
    ON regeneration_jobs (created_at DESC, id DESC, status, target_type, target_id, created_by);
