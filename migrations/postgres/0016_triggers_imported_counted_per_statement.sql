-- TRIGGERED audit events inserted in bulk are counted once per statement,
-- as new jobs are since 0009.
--
-- `audit_events_activity` (0010) adds each TRIGGERED event to its hour's
-- activity row as the event is inserted. Importing audit history
-- (`regen-admin import`, the demo) and a bulk trigger insert hundreds of
-- events per statement inside one transaction, and each event rewrote the
-- same few counter rows, where no row version can be pruned before the
-- commit: the demo's million jobs left `regeneration_job_activity` at 53 MB
-- for 2,884 live rows, and the 30-day chart's read went through 770 pages
-- (7 ms instead of 1; bench/NOTES.md, round 3, seventh session).
--
-- A transaction that inserts events in bulk now says so
-- (`SET LOCAL regen.triggers_counted_per_statement = 'on'`): the row trigger
-- then skips its events, and a statement-level trigger adds them all
-- with one upsert per counter row. Any other insert (a trigger's own
-- transaction, one event) is counted by the row trigger as before, and the
-- statement trigger's WHEN skips it. Either way each event counts once:
-- SET LOCAL cannot change within a statement.

-- The row trigger's function is unchanged (0010); its WHEN now leaves a
-- bulk transaction's events to the statement trigger. An unset setting
-- reads as NULL, and as '' once a SET LOCAL has ended: hence IS DISTINCT.
DROP TRIGGER audit_events_activity ON audit_events;
CREATE TRIGGER audit_events_activity BEFORE INSERT ON audit_events
    FOR EACH ROW
    WHEN (NEW.event_type = 'REGEN_JOB_TRIGGERED'
          AND current_setting('regen.triggers_counted_per_statement', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION regen_trigger_activity();

CREATE FUNCTION regen_count_inserted_triggers() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    slot SMALLINT := COALESCE(NULLIF(current_setting('regen.activity_shard', true), '')::SMALLINT,
                              txid_current() % 16);
BEGIN
    -- GROUP BY gives each counter row at most one proposed row, which is
    -- what ON CONFLICT DO UPDATE requires of a single statement.
    INSERT INTO regeneration_job_activity (hour, target_type, shard, triggered)
        SELECT substr(e.occurred_at, 1, 13) || ':00:00.000Z', j.target_type, slot, COUNT(*)
        FROM inserted_events e JOIN regeneration_jobs j ON j.id = e.job_id
        WHERE e.event_type = 'REGEN_JOB_TRIGGERED'
        GROUP BY 1, 2
        ON CONFLICT (hour, target_type, shard)
        DO UPDATE SET triggered = regeneration_job_activity.triggered + EXCLUDED.triggered;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_events_activity_per_statement AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted_events
    FOR EACH STATEMENT
    WHEN (current_setting('regen.triggers_counted_per_statement', true) = 'on')
    EXECUTE FUNCTION regen_count_inserted_triggers();
