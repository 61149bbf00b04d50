-- Listing by creator (`createdBy`), newest first, alone or with a time window.
CREATE INDEX regeneration_jobs_by_created_by ON regeneration_jobs (created_by, created_at DESC, id DESC);
