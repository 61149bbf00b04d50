-- Browsing the audit trail across jobs, newest first: by time alone, by
-- actor, or by event type, each ending in (occurred_at, id) so that keyset
-- pages and time windows stay inside one index range.
CREATE INDEX audit_events_by_time ON audit_events (occurred_at DESC, id DESC);
CREATE INDEX audit_events_by_actor ON audit_events (actor, occurred_at DESC, id DESC);
CREATE INDEX audit_events_by_type ON audit_events (event_type, occurred_at DESC, id DESC);
