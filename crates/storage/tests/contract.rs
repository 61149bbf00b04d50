//! The storage contract, written once and run against SQLite and PostgreSQL,
//! plus the database-level invariants proven with raw SQL.

use regen_domain::{
    AuditEventType, JobId, JobStatus, JsonText, NewJob, Role, Scope, Timestamp, ALL_STATUSES,
};
use regen_storage::testing::{
    break_audit_inserts, break_trigger_audit_of, break_writes, repair_audit_inserts, repair_writes,
    TestDatabase,
};
use regen_storage::{
    AnswerUnder, Backend, BulkOutcome, BulkSelection, BulkTrigger, BulkTriggered, JobFilter,
    KeyClaim, KeyPolicy, KeysetPosition, NewApiToken, Owner, PageDirection, StorageError, Store,
    StoreOptions, StoredAnswer, TriggerResult,
};
use sqlx::Executor;

/// Runs each listed test body once per backend, as `sqlite::name` and
/// `postgres::name`.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(regen_storage::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(regen_storage::Backend::Postgres).await })*
        }
    };
}

#[path = "contract/target_and_preferences.rs"]
mod target_and_preferences;

#[path = "contract/sso.rs"]
mod sso;

contract_tests!(
    an_inserted_job_reads_back_byte_for_byte,
    inserting_a_job_records_its_creation_audit_event,
    bulk_inserts_keep_creation_times_and_audit_each_job,
    listing_is_newest_first_with_ties_broken_by_id,
    keyset_pages_visit_every_job_once_in_order,
    newer_pages_walk_back_towards_the_newest_job,
    listing_filters_by_status_target_type_and_target_id,
    listing_never_reads_a_payload_column,
    triggering_a_pending_job_makes_it_running_with_one_audit_row,
    triggering_twice_is_a_conflict,
    triggering_a_job_in_any_other_status_is_a_conflict,
    triggering_an_unknown_job_is_not_found,
    an_audit_failure_does_not_roll_back_the_transition,
    a_failed_transition_keeps_nothing,
    concurrent_triggers_of_one_job_succeed_exactly_once,
    concurrent_triggers_each_get_their_own_outcome,
    raw_delete_of_a_job_is_refused,
    raw_update_of_any_column_but_status_is_refused,
    raw_status_changes_other_than_pending_to_running_are_refused,
    raw_pending_to_running_is_the_one_allowed_update,
    raw_replace_of_a_job_is_refused,
    raw_update_or_delete_of_audit_rows_is_refused,
    raw_truncate_is_refused,
    replaying_an_audit_event_is_idempotent,
    jobs_missing_audit_are_reported,
    users_tokens_and_sessions_round_trip,
    requests_that_find_a_credential_stale_together_write_it_once,
    a_credentials_last_use_never_holds_up_a_request,
    taking_access_away_revokes_tokens_for_good,
    raw_tokens_with_an_unknown_scope_or_a_long_label_are_refused,
    login_attempts_are_seen_by_every_reader_and_forgotten_on_request,
    a_server_secret_is_the_first_candidate_for_every_caller,
    migrations_are_current_after_migrate,
    kept_counts_equal_a_recount_after_inserts_triggers_and_raw_sql,
    kept_counts_stay_exact_under_concurrent_triggers,
    a_corrupted_counter_is_caught_by_a_recount_and_repaired_by_a_rebuild,
    the_oldest_pending_job_is_found_overall_and_per_target_type,
    a_page_read_with_its_counts_is_the_page_and_the_counts_read_apart,
    a_filter_no_index_serves_stops_at_its_scan_budget_and_resumes_there,
    export_pages_visit_every_matching_job_once_with_its_stored_payloads,
    a_planned_page_ends_where_planned_unless_jobs_arrive_in_its_range,
    export_pages_of_big_payloads_hold_their_bytes_or_one_job,
    concurrent_bulk_imports_and_triggers_all_commit_with_exact_counts,
    folding_activity_shards_keeps_every_figure_in_one_row_per_past_hour,
    a_bulk_insert_statement_writes_each_counter_row_once,
    imported_triggers_are_counted_once_per_statement,
    every_documented_filter_shape_has_a_plan,
    a_bulk_by_ids_triggers_each_pending_job_once_and_reports_the_others,
    a_bulk_by_filter_triggers_exactly_the_pending_jobs_it_selects,
    a_bulk_by_filter_with_another_count_or_too_many_jobs_changes_nothing,
    a_bulk_audit_failure_keeps_the_transitions_and_hands_back_every_event,
    overlapping_bulks_and_single_triggers_trigger_each_job_exactly_once,
    a_bulk_of_more_ids_than_one_statement_takes_triggers_them_all,
    bulks_by_filter_commit_beside_another_instances_writes,
    an_idempotency_key_is_claimed_once_and_then_replays_its_answer,
    a_key_with_another_request_is_a_mismatch_and_a_running_one_in_progress,
    a_key_whose_lease_ran_out_is_taken_over_and_its_old_claim_rolls_back,
    keys_older_than_a_day_are_pruned_on_write,
    a_keyed_trigger_keeps_its_answer_in_the_transaction_of_its_transition,
);

/// SQLite: a trigger that waits for another trigger's turn and then for
/// the write lock waits at most its timeout in all, not once per wait, and
/// writes nothing when it runs out of time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_trigger_waits_at_most_its_timeout_in_total() {
    use std::time::{Duration, Instant};
    let db = TestDatabase::new(Backend::Sqlite).await;
    let timeout = Duration::from_secs(2);
    db.store().await;
    let options = StoreOptions {
        acquire_timeout: timeout,
        ..StoreOptions::default()
    };
    let store = Store::connect(&db.url, &options).await.unwrap();
    let first = pending_job(&store).await;
    let second = pending_job(&store).await;
    // Another writer holds the write lock throughout.
    let raw = db.raw_pool().await;
    let mut holder = raw.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();

    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.trigger_job(first.id, "first", None).await }
    });
    // The first trigger now holds the turn and waits for the lock.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let second_outcome = store.trigger_job(second.id, "second", None).await;
    let waited = started.elapsed();
    let first_outcome = waiting.await.unwrap();
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();

    assert!(
        matches!(second_outcome, Err(StorageError::Unavailable(_))),
        "{second_outcome:?}"
    );
    assert!(
        matches!(first_outcome, Err(StorageError::Unavailable(_))),
        "{first_outcome:?}"
    );
    // Its turn came at about 1.8 s; waiting again for the lock as long as
    // the timeout would have taken it to about 3.8 s.
    assert!(waited < Duration::from_millis(3000), "waited {waited:?}");
    let statuses: Vec<(String,)> =
        sqlx::query_as("SELECT status FROM regeneration_jobs ORDER BY id")
            .fetch_all(&raw)
            .await
            .unwrap();
    assert_eq!(statuses, [("PENDING".to_owned(),), ("PENDING".to_owned(),)]);
}

/// SQLite plans do not depend on the data, so its plans are checked: every
/// documented filter shape reads the jobs through an index that yields them
/// in listing order, never a full table scan, never a sort. (PostgreSQL's
/// plans depend on its statistics; they are recorded at ten million jobs by
/// `bench/run --scale`, and here each shape's plan must run.)
#[tokio::test]
async fn sqlite_serves_every_documented_filter_shape_from_an_ordered_index() {
    let (_db, store) = store(Backend::Sqlite).await;
    for (shape, filter) in regen_storage::testing::documented_filter_shapes() {
        let plan = store.explain_list_jobs(&filter, 50).await.unwrap();
        let reads: Vec<&String> = plan
            .iter()
            .filter(|line| line.contains("regeneration_jobs"))
            .collect();
        assert!(!reads.is_empty(), "{shape}: {plan:?}");
        for line in reads {
            assert!(
                line.contains("USING INDEX") || line.contains("USING COVERING INDEX"),
                "{shape}: {plan:?}"
            );
        }
        assert!(
            !plan.iter().any(|line| line.contains("TEMP B-TREE")),
            "{shape}: {plan:?}"
        );
    }
}

/// PostgreSQL plans a listing page (and a detail page's list of the
/// target's other jobs) once per connection, not on every request: with
/// its LIMIT written into the statement (not bound), the page runs on its
/// generic plan once the planner's five trial runs are over. With a bound LIMIT every run was planned again, which cost as much
/// as reading the page.
#[tokio::test]
async fn a_postgres_listing_page_is_planned_once_per_connection() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let one_connection = StoreOptions {
        max_connections: 1,
        ..StoreOptions::default()
    };
    let store = Store::connect(&db.url, &one_connection).await.unwrap();
    store.migrate().await.unwrap();
    for n in 0..20 {
        store
            .insert_job(new_job(JobStatus::Pending, "insight", &format!("i-{n}")))
            .await
            .unwrap();
    }
    let filters = [
        JobFilter::default(),
        JobFilter {
            statuses: vec![JobStatus::Pending],
            ..JobFilter::default()
        },
        JobFilter {
            target_type: Some("insight".into()),
            ..JobFilter::default()
        },
    ];
    let job = store.list_jobs(&filters[0], None, 1).await.unwrap()[0].id;
    for _ in 0..10 {
        for filter in &filters {
            store.list_jobs(filter, None, 51).await.unwrap();
            store.list_jobs_with_counts(filter, None, 51).await.unwrap();
        }
        // The detail page's other jobs of the target.
        store
            .other_jobs_of_target("insight", "i-1", job, 11)
            .await
            .unwrap();
    }
    let plans: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE '%FROM regeneration_jobs%LIMIT 51%' \
            OR statement LIKE '%FROM regeneration_jobs%LIMIT 11%'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let plans: Vec<_> = plans
        .into_iter()
        .filter(|(statement, ..)| !statement.contains("pg_prepared_statements"))
        .collect();
    assert_eq!(plans.len(), 2 * filters.len() + 1, "{plans:?}");
    for (statement, generic, custom) in plans {
        assert!(
            custom <= 5 && generic >= 5,
            "planned {custom} times for 10 runs: {statement}"
        );
    }
}

/// A PostgreSQL connection that the server dropped while it sat in the pool
/// (a database restart between two requests) is found out by the ping
/// before use, not by a failed request. The ping is skipped for connections
/// idle less than a second, so this waits longer than that.
#[tokio::test]
async fn a_postgres_connection_dropped_while_idle_is_replaced_before_use() {
    let (db, store) = store(Backend::Postgres).await;
    let job = pending_job(&store).await;
    let raw = db.raw_pool().await;
    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&raw)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "the store's pool had a connection open");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    assert!(store.get_job(job.id).await.unwrap().is_some());
    let outcome = store.trigger_job(job.id, "admin-id", None).await.unwrap();
    assert!(matches!(
        outcome,
        TriggerResult::Triggered { audit: Ok(_), .. }
    ));
}

fn new_job(status: JobStatus, target_type: &str, target_id: &str) -> NewJob {
    NewJob {
        status,
        target_type: target_type.into(),
        target_id: target_id.into(),
        instruction_json: JsonText::parse(r#"{"prompt":"rewrite","n":1}"#).unwrap(),
        output_ref: None,
        error_json: None,
        created_by: "insight-service".into(),
    }
}

async fn store(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::new(backend).await;
    let store = db.store().await;
    (db, store)
}

/// Gives `user_id` an admin-scoped token without a label or an expiry.
async fn admin_token(store: &Store, user_id: &str, token_hash: &str) {
    store
        .create_api_token(&NewApiToken {
            user_id: user_id.into(),
            token_hash: token_hash.into(),
            scope: Scope::Admin,
            label: None,
            expires_at: None,
        })
        .await
        .unwrap();
}

async fn pending_job(store: &Store) -> regen_domain::RegenerationJob {
    store
        .insert_job(new_job(JobStatus::Pending, "insight", "i-1"))
        .await
        .unwrap()
}

/// Runs raw SQL and returns the error it must produce.
async fn refused(store: &Store, sql: &str) -> StorageError {
    match store.pool().execute(sql).await {
        Ok(done) => panic!("{sql} was allowed ({} rows)", done.rows_affected()),
        Err(e) => StorageError::from(e),
    }
}

fn assert_guard(error: StorageError) {
    assert!(
        matches!(error, StorageError::Guard(ref m) if m.contains("regen_guard:")),
        "expected a guard refusal, got {error:?}"
    );
}

async fn an_inserted_job_reads_back_byte_for_byte(backend: Backend) {
    let (_db, store) = store(backend).await;
    let text = "{ \"z\" : 1, \"big\": 123456789012345678901234567890.5, \"e\": \"\\u00e9\\n\" }";
    let mut job = new_job(JobStatus::Failed, "insight", "i-9");
    job.instruction_json = JsonText::parse(text).unwrap();
    job.output_ref = Some(JsonText::parse("{\"uri\":\"s3://out/1\"}").unwrap());
    job.error_json = Some(JsonText::parse("{\"code\":\"E1\",\"nested\":{\"a\":[1,2]}}").unwrap());

    let inserted = store.insert_job(job).await.unwrap();
    let read = store.get_job(inserted.id).await.unwrap().unwrap();

    assert_eq!(read, inserted);
    assert_eq!(read.instruction_json.as_str(), text);
    assert_eq!(read.status, JobStatus::Failed);
}

async fn inserting_a_job_records_its_creation_audit_event(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;

    let events = store.audit_events(job.id).await.unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, AuditEventType::Created);
    assert_eq!(events[0].actor, "insight-service");
    assert_eq!(events[0].job_id, job.id);
}

async fn bulk_inserts_keep_creation_times_and_audit_each_job(backend: Backend) {
    let (_db, store) = store(backend).await;
    let at = |ms: i64| regen_domain::Timestamp::from_millis(1_700_000_000_000 + ms).unwrap();
    let jobs = (0..3)
        .map(|n| (new_job(JobStatus::Pending, "t", &n.to_string()), at(n)))
        .collect();

    let ids = store.insert_jobs(jobs).await.unwrap();
    assert_eq!(ids.len(), 3);

    let listed = store
        .list_jobs(&JobFilter::default(), None, 10)
        .await
        .unwrap();
    let times: Vec<_> = listed.iter().map(|j| j.created_at).collect();
    assert_eq!(times, vec![at(2), at(1), at(0)]);
    assert!(store.jobs_missing_audit().await.unwrap().is_empty());
    let created = store.audit_events(ids[0]).await.unwrap().remove(0);
    let history = [regen_domain::AuditEvent {
        id: uuid::Uuid::now_v7(),
        event_type: AuditEventType::Completed,
        job_id: created.job_id,
        actor: "executor".into(),
        occurred_at: created.occurred_at,
        request_id: None,
        details: None,
    }];
    store.insert_audit_events(&history).await.unwrap();
    assert_eq!(store.audit_events(ids[0]).await.unwrap().len(), 2);
}

async fn listing_is_newest_first_with_ties_broken_by_id(backend: Backend) {
    let (_db, store) = store(backend).await;
    // The same created_at for every row, inserted raw to force the tie.
    for n in 0..5 {
        let id = uuid::Uuid::now_v7();
        let sql = format!(
            "INSERT INTO regeneration_jobs (id, status, target_type, target_id, instruction_json, created_at, created_by) \
             VALUES ('{id}', 'PENDING', 't', 'x{n}', '{{}}', '2026-01-01T00:00:00.000Z', 'seed')"
        );
        store.pool().execute(sql.as_str()).await.unwrap();
    }

    let page = store
        .list_jobs(&JobFilter::default(), None, 10)
        .await
        .unwrap();

    let ids: Vec<String> = page.iter().map(|j| j.id.to_string()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 5);
}

async fn keyset_pages_visit_every_job_once_in_order(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut inserted = Vec::new();
    for n in 0..23 {
        let job = new_job(JobStatus::Pending, "t", &format!("{n}"));
        inserted.push(store.insert_job(job).await.unwrap().id);
    }

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_jobs(&JobFilter::default(), after, 5)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page
            .last()
            .map(|j| (PageDirection::Older, KeysetPosition::from(j)));
        seen.extend(page.iter().map(|j| j.id));
        // Jobs inserted while walking are newer than every page boundary.
        store
            .insert_job(new_job(JobStatus::Pending, "t", "late"))
            .await
            .unwrap();
    }

    inserted.reverse();
    assert_eq!(seen, inserted);
}

async fn newer_pages_walk_back_towards_the_newest_job(backend: Backend) {
    let (_db, store) = store(backend).await;
    for n in 0..7 {
        let job = new_job(JobStatus::Pending, "t", &format!("{n}"));
        store.insert_job(job).await.unwrap();
    }
    let all = store
        .list_jobs(&JobFilter::default(), None, 50)
        .await
        .unwrap();
    let oldest = KeysetPosition::from(all.last().unwrap());

    let newer = store
        .list_jobs(
            &JobFilter::default(),
            Some((PageDirection::Newer, oldest)),
            3,
        )
        .await
        .unwrap();

    assert_eq!(newer.jobs, all[3..6].to_vec());
}

async fn listing_filters_by_status_target_type_and_target_id(backend: Backend) {
    let (_db, store) = store(backend).await;
    for status in ALL_STATUSES {
        store
            .insert_job(new_job(status, "insight", "a"))
            .await
            .unwrap();
        store
            .insert_job(new_job(status, "article", "b"))
            .await
            .unwrap();
    }

    let filter = JobFilter {
        statuses: vec![JobStatus::Pending, JobStatus::Failed],
        target_type: Some("insight".into()),
        ..JobFilter::default()
    };
    let page = store.list_jobs(&filter, None, 50).await.unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|j| j.target_type == "insight"
        && matches!(j.status, JobStatus::Pending | JobStatus::Failed)));

    let by_target = JobFilter {
        target_id: Some("b".into()),
        ..JobFilter::default()
    };
    assert_eq!(
        store.list_jobs(&by_target, None, 50).await.unwrap().len(),
        4
    );
}

/// Proven with PostgreSQL's column privileges: the listing runs as a role
/// that may read only the summary columns, so touching a payload column
/// would be refused. (The SQL is shared by both backends.)
async fn listing_never_reads_a_payload_column(backend: Backend) {
    if backend != Backend::Postgres {
        return;
    }
    let (db, store) = store(backend).await;
    pending_job(&store).await;
    let role = format!("regen_lister_{}", uuid::Uuid::new_v4().simple());
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    store
        .pool()
        .execute(sqlx::raw_sql(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD 'lister'; \
             GRANT CONNECT ON DATABASE \"{database}\" TO {role}; \
             GRANT USAGE ON SCHEMA public TO {role}; \
             GRANT SELECT (id, status, target_type, target_id, created_at, created_by) \
                 ON regeneration_jobs TO {role};"
        )))
        .await
        .unwrap();
    let (scheme, rest) = db.url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let lister_url = format!("{scheme}://{role}:lister@{host}");
    let lister = Store::connect(&lister_url, &StoreOptions::default())
        .await
        .unwrap();

    let page = lister.list_jobs(&JobFilter::default(), None, 50).await;
    let detail = lister.get_job(page.as_ref().unwrap()[0].id).await;

    lister.close().await;
    store
        .pool()
        .execute(sqlx::raw_sql(&format!(
            "REVOKE ALL ON regeneration_jobs FROM {role}; REVOKE ALL ON SCHEMA public FROM {role}; \
             REVOKE ALL ON DATABASE \"{database}\" FROM {role}; DROP ROLE {role};"
        )))
        .await
        .unwrap();
    assert_eq!(page.unwrap().len(), 1);
    // The control: reading a payload column as that role is refused.
    assert!(detail.is_err(), "the role must not read payloads");
}

async fn triggering_a_pending_job_makes_it_running_with_one_audit_row(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;

    let outcome = store
        .trigger_job(job.id, "admin-id", Some("req-1"))
        .await
        .unwrap();

    let TriggerResult::Triggered {
        job: triggered,
        audit,
    } = outcome
    else {
        panic!("expected a trigger, got {outcome:?}")
    };
    assert_eq!(triggered.status, JobStatus::Running);
    let event = audit.expect("audit written");
    assert_eq!(event.event_type, AuditEventType::Triggered);
    let events = store.audit_events(job.id).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].actor, "admin-id");
    assert_eq!(events[1].request_id.as_deref(), Some("req-1"));
    let stored = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(stored.status, JobStatus::Running);
}

async fn triggering_twice_is_a_conflict(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;
    store.trigger_job(job.id, "a", None).await.unwrap();

    let second = store.trigger_job(job.id, "a", None).await.unwrap();

    assert!(matches!(
        second,
        TriggerResult::Conflict {
            current: JobStatus::Running
        }
    ));
    assert_eq!(store.audit_events(job.id).await.unwrap().len(), 2);
}

async fn triggering_a_job_in_any_other_status_is_a_conflict(backend: Backend) {
    let (_db, store) = store(backend).await;
    for status in [JobStatus::Running, JobStatus::Completed, JobStatus::Failed] {
        let job = store.insert_job(new_job(status, "t", "x")).await.unwrap();

        let outcome = store.trigger_job(job.id, "a", None).await.unwrap();

        assert!(matches!(outcome, TriggerResult::Conflict { current } if current == status));
        assert_eq!(store.get_job(job.id).await.unwrap().unwrap().status, status);
        assert_eq!(store.audit_events(job.id).await.unwrap().len(), 1);
    }
}

async fn triggering_an_unknown_job_is_not_found(backend: Backend) {
    let (_db, store) = store(backend).await;
    let id = regen_domain::JobId::from_uuid(uuid::Uuid::now_v7());

    let outcome = store.trigger_job(id, "a", None).await.unwrap();

    assert!(matches!(outcome, TriggerResult::NotFound));
}

async fn an_audit_failure_does_not_roll_back_the_transition(backend: Backend) {
    let (db, store) = store(backend).await;
    let job = pending_job(&store).await;
    break_audit_inserts(&db).await;

    let outcome = store
        .trigger_job(job.id, "admin-id", Some("req-7"))
        .await
        .unwrap();

    let TriggerResult::Triggered {
        audit: Err(failure),
        ..
    } = outcome
    else {
        panic!("expected a committed trigger with a failed audit, got {outcome:?}")
    };
    assert_eq!(failure.event.job_id, job.id);
    assert_eq!(failure.event.actor, "admin-id");
    let stored = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(stored.status, JobStatus::Running);
    assert_eq!(store.audit_events(job.id).await.unwrap().len(), 1);
    // The transition is counted though its audit row was never written.
    assert_every_figure_recounts(&store).await;
}

/// The job's UPDATE refused by the database (here a trigger of the test's
/// own; in production a lock timeout or a guard): the trigger fails and
/// leaves no status change, no audit row and no counted figure behind, in
/// each backend's first attempt (one statement on PostgreSQL, no savepoint
/// on SQLite) as well as on the savepoint path it falls back to.
async fn a_failed_transition_keeps_nothing(backend: Backend) {
    let (db, store) = store(backend).await;
    let job = pending_job(&store).await;
    break_writes(&db, "regeneration_jobs", "UPDATE").await;

    let outcome = store.trigger_job(job.id, "admin-id", None).await;

    assert!(outcome.is_err(), "expected an error, got {outcome:?}");
    let stored = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(stored.status, JobStatus::Pending);
    let events = store.audit_events(job.id).await.unwrap();
    assert_eq!(events.len(), 1, "only the creation event: {events:?}");
    assert_every_figure_recounts(&store).await;

    repair_writes(&db, "regeneration_jobs").await;
    let outcome = store.trigger_job(job.id, "admin-id", None).await.unwrap();
    assert!(matches!(
        outcome,
        TriggerResult::Triggered { audit: Ok(_), .. }
    ));
    assert_eq!(store.audit_events(job.id).await.unwrap().len(), 2);
    assert_every_figure_recounts(&store).await;
}

async fn concurrent_triggers_of_one_job_succeed_exactly_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    for _round in 0..5 {
        let job = pending_job(&store).await;
        let tasks: Vec<_> = (0..16)
            .map(|n| {
                let store = store.clone();
                let actor = format!("admin-{n}");
                tokio::spawn(async move { store.trigger_job(job.id, &actor, None).await })
            })
            .collect();
        let mut triggered = 0;
        let mut conflicts = 0;
        for task in tasks {
            match task.await.unwrap().unwrap() {
                TriggerResult::Triggered { .. } => triggered += 1,
                TriggerResult::Conflict {
                    current: JobStatus::Running,
                } => conflicts += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((triggered, conflicts), (1, 15));
        let events = store.audit_events(job.id).await.unwrap();
        let triggers = events
            .iter()
            .filter(|e| e.event_type == AuditEventType::Triggered)
            .count();
        assert_eq!(triggers, 1);
    }
}

/// Many triggers at once, of pending jobs (each twice), of jobs in other
/// statuses, of unknown ids, and of one job whose audit row fails: each
/// gets its own outcome, exactly as if it had run alone: no other job may
/// lose its transition or its audit row, or gain one.
async fn concurrent_triggers_each_get_their_own_outcome(backend: Backend) {
    let (db, store) = store(backend).await;
    let mut pending = Vec::new();
    for _ in 0..24 {
        pending.push(pending_job(&store).await.id);
    }
    let mut settled = Vec::new();
    for (n, status) in [JobStatus::Running, JobStatus::Completed, JobStatus::Failed]
        .into_iter()
        .enumerate()
    {
        let job = store
            .insert_job(new_job(status, "insight", &format!("settled-{n}")))
            .await
            .unwrap();
        settled.push((job.id, status));
    }
    let unknown: Vec<_> = (0..3)
        .map(|_| regen_domain::JobId::from_uuid(uuid::Uuid::now_v7()))
        .collect();
    let broken = pending[7];
    break_trigger_audit_of(&db, broken).await;

    let mut ids: Vec<_> = pending.iter().chain(pending.iter()).copied().collect();
    ids.extend(settled.iter().map(|(id, _)| *id));
    ids.extend(unknown.iter().copied());
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let store = store.clone();
            tokio::spawn(async move { (id, store.trigger_job(id, "racer", None).await.unwrap()) })
        })
        .collect();
    let mut outcomes = std::collections::HashMap::<_, Vec<_>>::new();
    for task in tasks {
        let (id, outcome) = task.await.unwrap();
        outcomes.entry(id).or_default().push(outcome);
    }

    for id in &pending {
        let results = &outcomes[id];
        let triggered: Vec<_> = results
            .iter()
            .filter_map(|r| match r {
                TriggerResult::Triggered { audit, .. } => Some(audit.is_ok()),
                _ => None,
            })
            .collect();
        assert_eq!(triggered, [*id != broken], "{id}: {results:?}");
        assert!(
            results.iter().any(|r| matches!(
                r,
                TriggerResult::Conflict {
                    current: JobStatus::Running
                }
            )),
            "{id}: {results:?}"
        );
        let events = store.audit_events(*id).await.unwrap();
        let expected = if *id == broken { 1 } else { 2 };
        assert_eq!(events.len(), expected, "{id}: {events:?}");
        assert_eq!(
            store.get_job(*id).await.unwrap().unwrap().status,
            JobStatus::Running
        );
    }
    for (id, status) in &settled {
        assert!(
            matches!(outcomes[id][..], [TriggerResult::Conflict { current }] if current == *status),
            "{id}: {:?}",
            outcomes[id]
        );
        assert_eq!(store.audit_events(*id).await.unwrap().len(), 1);
    }
    for id in &unknown {
        assert!(matches!(outcomes[id][..], [TriggerResult::NotFound]));
    }
    assert_every_figure_recounts(&store).await;
}

async fn raw_delete_of_a_job_is_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;

    let one = format!("DELETE FROM regeneration_jobs WHERE id = '{}'", job.id);
    assert_guard(refused(&store, &one).await);
    assert_guard(refused(&store, "DELETE FROM regeneration_jobs").await);
    assert!(store.get_job(job.id).await.unwrap().is_some());
}

async fn raw_update_of_any_column_but_status_is_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;
    for assignment in [
        "target_type = 'other'",
        "target_id = 'other'",
        "instruction_json = '{\"x\":2}'",
        "output_ref = '\"s3://x\"'",
        "error_json = '{\"e\":1}'",
        "created_at = '2020-01-01T00:00:00.000Z'",
        "created_by = 'mallory'",
        "id = '00000000-0000-7000-8000-000000000000'",
        // Even alongside the one legal status change.
        "status = 'RUNNING', target_id = 'other'",
    ] {
        let sql = format!(
            "UPDATE regeneration_jobs SET {assignment} WHERE id = '{}'",
            job.id
        );
        assert_guard(refused(&store, &sql).await);
    }
    assert_eq!(store.get_job(job.id).await.unwrap().unwrap(), job);
}

async fn raw_status_changes_other_than_pending_to_running_are_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    for from in ALL_STATUSES {
        for to in ALL_STATUSES {
            if from == JobStatus::Pending && to == JobStatus::Running {
                continue;
            }
            let job = store.insert_job(new_job(from, "t", "x")).await.unwrap();
            let sql = format!(
                "UPDATE regeneration_jobs SET status = '{to}' WHERE id = '{}'",
                job.id
            );
            assert_guard(refused(&store, &sql).await);
            assert_eq!(store.get_job(job.id).await.unwrap().unwrap().status, from);
        }
    }
}

/// Every kept figure (status counts and hourly activity) equals its recount
/// from the jobs and the audit rows.
async fn assert_every_figure_recounts(store: &Store) {
    let (kept, recounted) = store.kept_and_recounted().await.unwrap();
    assert_eq!(kept, recounted, "status counts");
    let (activity, recounted) = store.kept_activity_and_recounted().await.unwrap();
    assert_eq!(activity, recounted, "activity");
}

async fn raw_pending_to_running_is_the_one_allowed_update(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;

    let sql = format!(
        "UPDATE regeneration_jobs SET status = 'RUNNING' WHERE id = '{}'",
        job.id
    );
    let done = store.pool().execute(sql.as_str()).await.unwrap();

    assert_eq!(done.rows_affected(), 1);
}

async fn raw_replace_of_a_job_is_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;
    let values = format!(
        "('{}', 'PENDING', 't', 'x', '{{}}', '2026-01-01T00:00:00.000Z', 'mallory')",
        job.id
    );
    let columns = "(id, status, target_type, target_id, instruction_json, created_at, created_by)";
    let upsert = format!(
        "INSERT INTO regeneration_jobs {columns} VALUES {values} \
         ON CONFLICT (id) DO UPDATE SET created_by = 'mallory'"
    );
    let statements = match backend {
        Backend::Sqlite => vec![
            format!("INSERT OR REPLACE INTO regeneration_jobs {columns} VALUES {values}"),
            format!("REPLACE INTO regeneration_jobs {columns} VALUES {values}"),
            upsert,
        ],
        Backend::Postgres => vec![upsert],
    };
    for sql in statements {
        assert_guard(refused(&store, &sql).await);
    }
    assert_eq!(store.get_job(job.id).await.unwrap().unwrap(), job);
}

async fn raw_update_or_delete_of_audit_rows_is_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;
    let before = store.audit_events(job.id).await.unwrap();

    assert_guard(refused(&store, "UPDATE audit_events SET actor = 'mallory'").await);
    assert_guard(refused(&store, "DELETE FROM audit_events").await);
    if backend == Backend::Sqlite {
        let sql = format!(
            "INSERT OR REPLACE INTO audit_events (id, event_type, job_id, actor, occurred_at) \
             VALUES ('{}', 'REGEN_JOB_CREATED', '{}', 'mallory', '2026-01-01T00:00:00.000Z')",
            before[0].id, job.id
        );
        assert_guard(refused(&store, &sql).await);
    }
    assert_eq!(store.audit_events(job.id).await.unwrap(), before);
}

async fn raw_truncate_is_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;
    if backend == Backend::Postgres {
        assert_guard(refused(&store, "TRUNCATE regeneration_jobs CASCADE").await);
        assert_guard(refused(&store, "TRUNCATE audit_events").await);
    } else {
        // SQLite has no TRUNCATE; its truncate optimisation of an
        // unconditional DELETE is disabled by the delete trigger.
        assert_guard(refused(&store, "DELETE FROM regeneration_jobs").await);
    }
    assert!(store.get_job(job.id).await.unwrap().is_some());
}

async fn replaying_an_audit_event_is_idempotent(backend: Backend) {
    let (db, store) = store(backend).await;
    let job = pending_job(&store).await;
    break_audit_inserts(&db).await;
    let outcome = store.trigger_job(job.id, "admin-id", None).await.unwrap();
    let TriggerResult::Triggered {
        audit: Err(failure),
        ..
    } = outcome
    else {
        panic!("expected an audit failure, got {outcome:?}")
    };
    repair_audit_inserts(&db).await;

    assert!(store
        .insert_audit_event_if_missing(&failure.event)
        .await
        .unwrap());
    assert!(!store
        .insert_audit_event_if_missing(&failure.event)
        .await
        .unwrap());
    assert_eq!(store.audit_events(job.id).await.unwrap().len(), 2);
    // The replayed row counts its trigger once; the transition itself was
    // counted when it committed.
    assert_every_figure_recounts(&store).await;
}

async fn jobs_missing_audit_are_reported(backend: Backend) {
    let (db, store) = store(backend).await;
    let healthy = pending_job(&store).await;
    store.trigger_job(healthy.id, "a", None).await.unwrap();
    let broken = pending_job(&store).await;
    break_audit_inserts(&db).await;
    store.trigger_job(broken.id, "a", None).await.unwrap();

    let missing = store.jobs_missing_audit().await.unwrap();

    assert_eq!(missing, vec![(broken.id, JobStatus::Running)]);
}

async fn users_tokens_and_sessions_round_trip(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user("ada", Role::Admin, "hash").await.unwrap();
    assert!(matches!(
        store.create_user("ada", Role::Member, "h").await,
        Err(StorageError::Duplicate(_))
    ));
    assert_eq!(
        store.find_user_by_name("ada").await.unwrap(),
        Some(user.clone())
    );

    let token = |hash: &str, scope, expires_at| NewApiToken {
        user_id: user.id.clone(),
        token_hash: hash.into(),
        scope,
        label: Some("ci".into()),
        expires_at,
    };
    let id = store
        .create_api_token(&token("tokenhash", Scope::Read, None))
        .await
        .unwrap();
    assert_eq!(
        store.use_api_token("tokenhash").await.unwrap(),
        Some((user.clone(), Scope::Read))
    );
    assert_eq!(store.use_api_token("other").await.unwrap(), None);
    let past = Timestamp::from_millis(regen_storage::now().millis() - 1).unwrap();
    store
        .create_api_token(&token("expired", Scope::Admin, Some(past)))
        .await
        .unwrap();
    assert_eq!(store.use_api_token("expired").await.unwrap(), None);
    let listed = store.list_api_tokens(Owner::User(&user.id)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, id);
    assert!(listed[0].last_used_at.is_some(), "use is recorded");
    assert!(store
        .revoke_api_token(&id, Owner::User("someone-else"))
        .await
        .unwrap()
        .is_none());
    let revoked = store.revoke_api_token(&id, Owner::Anyone).await.unwrap();
    assert!(revoked.unwrap().revoked_at.is_some());
    assert_eq!(store.use_api_token("tokenhash").await.unwrap(), None);

    let long_ago = Timestamp::from_millis(0).unwrap();
    let in_a_minute = regen_storage::now().millis() + 60_000;
    let session = |id: &str| regen_storage::NewSession {
        id: id.into(),
        id_hash: format!("hash-{id}"),
        user_id: user.id.clone(),
        expires_at: Timestamp::from_millis(in_a_minute).unwrap(),
        client_address: Some("10.0.0.1".into()),
        user_agent: None,
        id_token: None,
    };
    store.create_session(&session("s1")).await.unwrap();
    store.create_session(&session("s2")).await.unwrap();
    let found = store
        .touch_session("hash-s1", long_ago)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, user);
    assert_eq!(found.id, "s1");
    // Idle for longer than allowed: refused.
    let now = regen_storage::now();
    assert!(store.touch_session("hash-s1", now).await.unwrap().is_none());
    assert_eq!(
        store
            .list_sessions(Owner::User(&user.id), long_ago)
            .await
            .unwrap()
            .len(),
        2
    );
    // Ending the others keeps the one named.
    assert_eq!(
        store
            .delete_sessions_of(&user.id, Some("s1"))
            .await
            .unwrap(),
        1
    );
    assert!(store
        .touch_session("hash-s2", long_ago)
        .await
        .unwrap()
        .is_none());
    // Disabling ends the rest and hides the user from every lookup.
    assert_eq!(
        store
            .set_disabled(&user.id, true)
            .await
            .unwrap()
            .sessions_ended,
        1
    );
    assert!(store
        .touch_session("hash-s1", long_ago)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .find_user_by_name("ada")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    store.set_disabled(&user.id, false).await.unwrap();
    store.delete_session("hash-s1").await.unwrap();
}

/// An admin with the token `tokenhash` and the live session `hash-s1`.
async fn admin_with_token_and_session(store: &Store) {
    let user = store.create_user("ada", Role::Admin, "hash").await.unwrap();
    admin_token(store, &user.id, "tokenhash").await;
    store
        .create_session(&regen_storage::NewSession {
            id: "s1".into(),
            id_hash: "hash-s1".into(),
            user_id: user.id,
            expires_at: Timestamp::from_millis(regen_storage::now().millis() + 60_000).unwrap(),
            client_address: None,
            user_agent: None,
            id_token: None,
        })
        .await
        .unwrap();
}

/// Requests that find a token's last-used time (or a session's last-seen
/// time) stale at the same moment write it once. Written by all of them,
/// each would wait for the one before it to commit: every request of that
/// credential stalled once a minute. The writes are counted by triggers
/// added here with raw SQL.
async fn requests_that_find_a_credential_stale_together_write_it_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    admin_with_token_and_session(&store).await;
    let counting = match backend {
        Backend::Sqlite => {
            "CREATE TABLE credential_writes (written TEXT NOT NULL); \
             CREATE TRIGGER token_written AFTER UPDATE OF last_used_at ON api_tokens \
             BEGIN INSERT INTO credential_writes VALUES ('api_tokens'); END; \
             CREATE TRIGGER session_written AFTER UPDATE OF last_seen_at ON sessions \
             BEGIN INSERT INTO credential_writes VALUES ('sessions'); END;"
        }
        Backend::Postgres => {
            "CREATE TABLE credential_writes (written TEXT NOT NULL); \
             CREATE FUNCTION count_credential_write() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN INSERT INTO credential_writes VALUES (TG_TABLE_NAME); RETURN NULL; END $$; \
             CREATE TRIGGER token_written AFTER UPDATE OF last_used_at ON api_tokens \
             FOR EACH ROW EXECUTE FUNCTION count_credential_write(); \
             CREATE TRIGGER session_written AFTER UPDATE OF last_seen_at ON sessions \
             FOR EACH ROW EXECUTE FUNCTION count_credential_write();"
        }
    };
    store.pool().execute(sqlx::raw_sql(counting)).await.unwrap();
    let long_ago = Timestamp::from_millis(0).unwrap();
    for round in 0..3 {
        store
            .pool()
            .execute(
                "UPDATE api_tokens SET last_used_at = '2000-01-01T00:00:00.000Z'; \
                 UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000Z'; \
                 DELETE FROM credential_writes;",
            )
            .await
            .unwrap();
        let uses: Vec<_> = (0..32)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let token = store.use_api_token("tokenhash").await.unwrap();
                    let session = store.touch_session("hash-s1", long_ago).await.unwrap();
                    token.is_some() && session.is_some()
                })
            })
            .collect();
        for used in uses {
            assert!(used.await.unwrap());
        }
        let writes: Vec<(String,)> =
            sqlx::query_as("SELECT written FROM credential_writes ORDER BY written")
                .fetch_all(store.pool())
                .await
                .unwrap();
        let writes: Vec<&str> = writes.iter().map(|(w,)| w.as_str()).collect();
        assert_eq!(writes, ["api_tokens", "sessions"], "round {round}");
    }
}

/// A credential's last use never holds up a request: while another writer
/// holds the lock, the requests that find the time stale answer at once
/// but one, and that one answers too when its write runs out of time. The
/// next use writes the time. Without the one-writer rule all of them wait
/// for the lock; without the rule that a failed write is not the request's
/// failure, the last one fails.
async fn a_credentials_last_use_never_holds_up_a_request(backend: Backend) {
    use std::time::Duration;
    let db = TestDatabase::new(backend).await;
    db.store().await;
    let timeout = Duration::from_secs(3);
    let options = StoreOptions {
        acquire_timeout: timeout,
        ..StoreOptions::default()
    };
    let store = Store::connect(&db.url, &options).await.unwrap();
    admin_with_token_and_session(&store).await;
    let stale = "UPDATE api_tokens SET last_used_at = '2000-01-01T00:00:00.000Z'; \
                 UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000Z';";
    store.pool().execute(stale).await.unwrap();
    let raw = db.raw_pool().await;
    let mut holder = raw.acquire().await.unwrap();
    let hold = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => {
            "BEGIN; SELECT 1 FROM api_tokens FOR UPDATE; SELECT 1 FROM sessions FOR UPDATE"
        }
    };
    holder.execute(hold).await.unwrap();

    let long_ago = Timestamp::from_millis(0).unwrap();
    let mut uses = tokio::task::JoinSet::new();
    for n in 0..16_usize {
        let store = store.clone();
        uses.spawn(async move {
            let found = if n % 2 == 0 {
                store.use_api_token("tokenhash").await.map(|t| t.is_some())
            } else {
                store
                    .touch_session("hash-s1", long_ago)
                    .await
                    .map(|s| s.is_some())
            };
            (n % 2, found)
        });
    }
    let mut answered = [0; 2];
    let quick = tokio::time::timeout(timeout / 2, async {
        while answered.iter().sum::<i32>() < 14 {
            let (kind, found) = uses.join_next().await.unwrap().unwrap();
            assert!(found.unwrap(), "a live credential is found");
            answered[kind] += 1;
        }
    })
    .await;
    assert!(
        quick.is_ok(),
        "answered while the lock was held: {answered:?} of 8 token and 8 session uses"
    );
    assert_eq!(
        answered,
        [7, 7],
        "one use of each credential waits for its write"
    );
    while let Some(used) = uses.join_next().await {
        let (_, found) = used.unwrap();
        assert!(
            found.unwrap(),
            "a write that ran out of time does not fail the request"
        );
    }
    holder.execute("ROLLBACK").await.unwrap();
    drop(holder);

    assert!(store.use_api_token("tokenhash").await.unwrap().is_some());
    assert!(store
        .touch_session("hash-s1", long_ago)
        .await
        .unwrap()
        .is_some());
    let (used, seen): (Option<String>, String) =
        sqlx::query_as("SELECT t.last_used_at, s.last_seen_at FROM api_tokens t, sessions s")
            .fetch_one(&raw)
            .await
            .unwrap();
    assert!(
        used.unwrap().as_str() > "2001",
        "the next use writes the token's time"
    );
    assert!(
        seen.as_str() > "2001",
        "the next use writes the session's time"
    );
}

/// Disabling revokes every token, a demotion every admin-scope token, and
/// a password change every token when asked; undoing the change (enable,
/// promote) brings none of them back.
async fn taking_access_away_revokes_tokens_for_good(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user("ada", Role::Admin, "hash").await.unwrap();
    let token = |hash: &'static str, scope: Scope| NewApiToken {
        user_id: user.id.clone(),
        token_hash: hash.into(),
        scope,
        label: None,
        expires_at: None,
    };
    let works = |hash: &'static str| {
        let store = store.clone();
        async move { store.use_api_token(hash).await.unwrap().is_some() }
    };
    for (hash, scope) in [("admin-1", Scope::Admin), ("read-1", Scope::Read)] {
        store.create_api_token(&token(hash, scope)).await.unwrap();
    }

    let demoted = store.set_role(&user.id, Role::Member, true).await.unwrap();
    store.set_role(&user.id, Role::Admin, false).await.unwrap();
    assert_eq!(demoted.tokens_revoked, 1);
    assert!(!works("admin-1").await, "a demotion revokes admin tokens");
    assert!(works("read-1").await, "read tokens are not admin tokens");

    let kept = store
        .set_password(&user.id, "hash-2", None, false)
        .await
        .unwrap();
    assert_eq!(kept.tokens_revoked, 0);
    assert!(works("read-1").await);
    store
        .create_api_token(&token("admin-2", Scope::Admin))
        .await
        .unwrap();
    let changed = store
        .set_password(&user.id, "hash-3", None, true)
        .await
        .unwrap();
    assert_eq!(changed.tokens_revoked, 2);
    assert!(!works("read-1").await && !works("admin-2").await);

    store
        .create_api_token(&token("admin-3", Scope::Admin))
        .await
        .unwrap();
    let disabled = store.set_disabled(&user.id, true).await.unwrap();
    store.set_disabled(&user.id, false).await.unwrap();
    assert_eq!(disabled.tokens_revoked, 1);
    assert!(!works("admin-3").await, "enabling brings no token back");
}

async fn raw_tokens_with_an_unknown_scope_or_a_long_label_are_refused(backend: Backend) {
    let (_db, store) = store(backend).await;
    let user = store.create_user("ada", Role::Admin, "hash").await.unwrap();
    let insert = |scope: &str, label: &str| {
        format!(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at, scope, label) \
             VALUES ('{}', '{}', '{}', '2026-01-01T00:00:00.000Z', '{scope}', '{label}')",
            uuid::Uuid::now_v7(),
            user.id,
            uuid::Uuid::now_v7()
        )
    };
    assert!(store
        .pool()
        .execute(insert("write", "x").as_str())
        .await
        .is_err());
    let long = "x".repeat(101);
    assert!(store
        .pool()
        .execute(insert("read", &long).as_str())
        .await
        .is_err());
    store
        .pool()
        .execute(insert("read", "ok").as_str())
        .await
        .unwrap();
    // A token inserted without a scope gets the admin scope, as before.
    store
        .pool()
        .execute(
            format!(
                "INSERT INTO api_tokens (id, user_id, token_hash, created_at) \
                 VALUES ('t-old', '{}', 'old-hash', '2026-01-01T00:00:00.000Z')",
                user.id
            )
            .as_str(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .use_api_token("old-hash")
            .await
            .unwrap()
            .map(|(_, s)| s),
        Some(Scope::Admin)
    );
}

async fn a_server_secret_is_the_first_candidate_for_every_caller(backend: Backend) {
    let (db, store) = store(backend).await;
    let other_instance = Store::connect(&db.url, &Default::default()).await.unwrap();

    let first = store.server_secret("signing", "first").await.unwrap();
    let second = other_instance
        .server_secret("signing", "second")
        .await
        .unwrap();
    let elsewhere = store.server_secret("other purpose", "third").await.unwrap();

    assert_eq!((first.as_str(), second.as_str()), ("first", "first"));
    assert_eq!(elsewhere, "third");
}

async fn login_attempts_are_seen_by_every_reader_and_forgotten_on_request(backend: Backend) {
    let (_db, store) = store(backend).await;
    let keys = vec!["k-address".to_owned(), "k-pair".to_owned()];
    let at = regen_storage::now();
    let long_ago = Timestamp::from_millis(0).unwrap();
    store.record_login_attempt("a1", &keys, at).await.unwrap();
    store.record_login_attempt("a2", &keys, at).await.unwrap();
    assert_eq!(
        store
            .login_attempts_since("k-pair", long_ago, "a2")
            .await
            .unwrap(),
        vec![at]
    );
    store.forget_login_attempt("a1", &keys).await.unwrap();
    assert!(store
        .login_attempts_since("k-pair", long_ago, "a2")
        .await
        .unwrap()
        .is_empty());
    let later = Timestamp::from_millis(at.millis() + 1).unwrap();
    assert_eq!(store.purge_login_attempts(later).await.unwrap(), 2);
}

async fn migrations_are_current_after_migrate(backend: Backend) {
    let (_db, store) = store(backend).await;
    assert!(store.is_ready().await.unwrap());
    // Running them again changes nothing.
    store.migrate().await.unwrap();
    assert!(store.is_ready().await.unwrap());
}

async fn raw_insert_job(store: &Store, target_type: &str, status: &str, created_at: &str) {
    let sql = format!(
        "INSERT INTO regeneration_jobs (id, status, target_type, target_id, instruction_json, created_at, created_by) \
         VALUES ('{}', '{status}', '{target_type}', 'raw-1', '{{}}', '{created_at}', 'producer-sql')",
        uuid::Uuid::now_v7()
    );
    store.pool().execute(sql.as_str()).await.unwrap();
}

async fn kept_counts_equal_a_recount_after_inserts_triggers_and_raw_sql(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut pending = Vec::new();
    for (n, status) in ALL_STATUSES.iter().cycle().take(16).enumerate() {
        let target_type = ["insight", "article", "summary"][n % 3];
        let job = store
            .insert_job(new_job(*status, target_type, "t"))
            .await
            .unwrap();
        if *status == JobStatus::Pending {
            pending.push(job.id);
        }
    }
    for id in &pending[..2] {
        store.trigger_job(*id, "a", None).await.unwrap();
    }
    raw_insert_job(&store, "headline", "FAILED", "2026-01-01T00:00:00.000Z").await;
    // A status change the guard refuses counts nothing, whichever trigger
    // fires first (on PostgreSQL the counters run before the row changes).
    let refused = sqlx::query(
        "UPDATE regeneration_jobs SET status = 'RUNNING', target_id = 'moved' WHERE id = $1",
    )
    .bind(pending[2].to_string())
    .execute(store.pool())
    .await;
    assert!(refused.is_err());
    // A script's own trigger: the status change and its audit row, and then
    // a second audit row for the same job (an import's duplicate).
    let mut script = store.pool().begin().await.unwrap();
    sqlx::query("UPDATE regeneration_jobs SET status = 'RUNNING' WHERE id = $1")
        .bind(pending[3].to_string())
        .execute(&mut *script)
        .await
        .unwrap();
    for _ in 0..2 {
        sqlx::query(
            "INSERT INTO audit_events (id, event_type, job_id, actor, occurred_at) \
             VALUES ($1, 'REGEN_JOB_TRIGGERED', $2, 'ops-script', '2026-02-03T04:05:06.007Z')",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(pending[3].to_string())
        .execute(&mut *script)
        .await
        .unwrap();
    }
    script.commit().await.unwrap();

    let kept = store.job_counts(None).await.unwrap().rows;

    assert_every_figure_recounts(&store).await;
    let total: i64 = kept.iter().map(|r| r.jobs).sum();
    assert_eq!(total, 17);
    assert!(kept
        .iter()
        .any(|r| r.target_type == "headline" && r.status == JobStatus::Failed && r.jobs == 1));
}

async fn kept_counts_stay_exact_under_concurrent_triggers(backend: Backend) {
    let (_db, store) = store(backend).await;
    let race = pending_job(&store).await;
    let mut others = Vec::new();
    for _ in 0..16 {
        others.push(pending_job(&store).await.id);
    }
    let mut tasks = Vec::new();
    for n in 0..64 {
        let store = store.clone();
        let id = if n % 4 == 0 { others[n / 4] } else { race.id };
        tasks.push(tokio::spawn(async move {
            store.trigger_job(id, "a", None).await.unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let kept = store.job_counts(None).await.unwrap().rows;

    assert_eq!(kept, store.kept_and_recounted().await.unwrap().1);
    let running = kept
        .iter()
        .find(|r| r.status == JobStatus::Running)
        .unwrap();
    assert_eq!(running.jobs, 17);
}

async fn a_corrupted_counter_is_caught_by_a_recount_and_repaired_by_a_rebuild(backend: Backend) {
    let (_db, store) = store(backend).await;
    for _ in 0..3 {
        pending_job(&store).await;
    }
    store
        .pool()
        .execute("UPDATE regeneration_job_counts SET jobs = jobs + 5")
        .await
        .unwrap();
    assert_ne!(
        store.job_counts(None).await.unwrap().rows,
        store.kept_and_recounted().await.unwrap().1
    );

    let counted = store.rebuild_job_counts().await.unwrap();

    assert_eq!(counted, 3);
    assert_eq!(
        store.job_counts(None).await.unwrap().rows,
        store.kept_and_recounted().await.unwrap().1
    );
}

async fn the_oldest_pending_job_is_found_overall_and_per_target_type(backend: Backend) {
    let (_db, store) = store(backend).await;
    assert_eq!(store.job_counts(None).await.unwrap().oldest_pending, None);
    raw_insert_job(&store, "article", "PENDING", "2026-01-02T00:00:00.000Z").await;
    raw_insert_job(&store, "insight", "PENDING", "2026-01-01T00:00:00.000Z").await;
    raw_insert_job(&store, "insight", "FAILED", "2025-01-01T00:00:00.000Z").await;

    let overall = store
        .job_counts(None)
        .await
        .unwrap()
        .oldest_pending
        .unwrap();
    let article = store
        .job_counts(Some("article"))
        .await
        .unwrap()
        .oldest_pending
        .unwrap();

    assert_eq!(overall.1.to_string(), "2026-01-01T00:00:00.000Z");
    assert_eq!(article.1.to_string(), "2026-01-02T00:00:00.000Z");
    assert_eq!(
        store
            .job_counts(Some("summary"))
            .await
            .unwrap()
            .oldest_pending,
        None
    );
}

/// The list page reads its jobs and its counts with one statement; what it
/// gets must be exactly what the two reads give apart, for every kind of
/// filter and cursor (the budgeted filters are in the scan budget's test).
async fn a_page_read_with_its_counts_is_the_page_and_the_counts_read_apart(backend: Backend) {
    let (_db, store) = store(backend).await;
    for (n, (target_type, status)) in [
        ("article", "PENDING"),
        ("article", "FAILED"),
        ("insight", "PENDING"),
        ("insight", "COMPLETED"),
        ("article", "PENDING"),
        ("summary", "RUNNING"),
    ]
    .into_iter()
    .enumerate()
    {
        let at = format!("2026-01-0{}T00:00:00.000Z", n + 1);
        raw_insert_job(&store, target_type, status, &at).await;
    }
    let second = store
        .list_jobs(&JobFilter::default(), None, 2)
        .await
        .unwrap()[1]
        .clone();
    let article = || JobFilter {
        target_type: Some("article".into()),
        ..JobFilter::default()
    };
    let filters = [
        JobFilter::default(),
        article(),
        JobFilter {
            statuses: vec![JobStatus::Pending],
            ..article()
        },
        JobFilter {
            statuses: vec![JobStatus::Pending],
            ..JobFilter::default()
        },
        JobFilter {
            target_type: Some("nothing-of-this-type".into()),
            ..JobFilter::default()
        },
    ];
    let froms = [
        None,
        Some((PageDirection::Older, KeysetPosition::from(&second))),
        Some((PageDirection::Newer, KeysetPosition::from(&second))),
    ];
    for filter in &filters {
        for from in froms {
            for limit in [1, 2, 51] {
                let together = store
                    .list_jobs_with_counts(filter, from, limit)
                    .await
                    .unwrap();
                let apart = (
                    store.list_jobs(filter, from, limit).await.unwrap(),
                    store
                        .job_counts(filter.target_type.as_deref())
                        .await
                        .unwrap(),
                );
                assert_eq!(together, apart, "{filter:?} from {from:?}, limit {limit}");
            }
        }
    }
    let (page, counts) = store
        .list_jobs_with_counts(&article(), None, 51)
        .await
        .unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(
        counts.oldest_pending.unwrap().1.to_string(),
        "2026-01-01T00:00:00.000Z"
    );
}

async fn a_filter_no_index_serves_stops_at_its_scan_budget_and_resumes_there(backend: Backend) {
    let (_db, store) = store(backend).await;
    let start = regen_domain::Timestamp::from_millis(1_780_000_000_000).unwrap();
    let count = regen_storage::SCAN_BUDGET as i64 + 100;
    let jobs: Vec<_> = (0..count)
        .map(|n| {
            // Only the two oldest jobs are FAILED: rare, and far down the list.
            let status = if n < 2 {
                JobStatus::Failed
            } else {
                JobStatus::Completed
            };
            let at = regen_domain::Timestamp::from_millis(start.millis() + n * 1000).unwrap();
            (new_job(status, "insight", "t"), at)
        })
        .collect();
    let ids = store.insert_jobs(jobs).await.unwrap();
    // Several statuses: no index keeps them in time order, so this scans.
    let rare = JobFilter {
        statuses: vec![JobStatus::Failed, JobStatus::Running],
        ..JobFilter::default()
    };

    let first = store.list_jobs(&rare, None, 51).await.unwrap();
    let stop = first
        .scan_stopped_at
        .expect("the scan stopped at its budget");
    // Read with its counts, a budgeted page (whose bound is bound before
    // the counts' values) is the same page.
    let rare_of_type = JobFilter {
        target_type: Some("insight".into()),
        ..rare.clone()
    };
    for filter in [&rare, &rare_of_type] {
        for from in [None, Some((PageDirection::Older, stop))] {
            let (page, counts) = store.list_jobs_with_counts(filter, from, 51).await.unwrap();
            assert_eq!(page, store.list_jobs(filter, from, 51).await.unwrap());
            assert_eq!(
                counts,
                store
                    .job_counts(filter.target_type.as_deref())
                    .await
                    .unwrap()
            );
        }
    }
    let rest = store
        .list_jobs(&rare, Some((PageDirection::Older, stop)), 51)
        .await
        .unwrap();
    let served = JobFilter {
        statuses: vec![JobStatus::Failed],
        ..JobFilter::default()
    };
    let direct = store.list_jobs(&served, None, 51).await.unwrap();

    assert!(first.jobs.is_empty());
    assert_eq!(
        stop.id,
        ids[ids.len() - regen_storage::SCAN_BUDGET as usize]
    );
    assert_eq!(
        rest.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[1], ids[0]]
    );
    assert_eq!(rest.scan_stopped_at, None, "the rest fits the budget");
    assert_eq!(direct.len(), 2, "an index-served filter never stops");
    assert_eq!(direct.scan_stopped_at, None);

    // An export of the same filter goes on past the budget, page by page.
    let (mut exported, mut after, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = store.export_jobs(&rare, after, 1000).await.unwrap();
        exported.extend(page.rows.iter().map(|j| j.id.parse::<JobId>().unwrap()));
        pages += 1;
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(exported, [ids[1], ids[0]]);
    assert_eq!(pages, 2, "one page per scan budget");
}

/// Every page of an export, read to the end.
async fn export_all(
    store: &Store,
    filter: &JobFilter,
    limit: u32,
) -> Vec<Vec<regen_storage::StoredJob>> {
    let (mut pages, mut after) = (Vec::new(), None);
    loop {
        let page = store.export_jobs(filter, after, limit).await.unwrap();
        pages.push(page.rows.iter().map(|job| job.to_stored_job()).collect());
        match page.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
    }
}

async fn export_pages_visit_every_matching_job_once_with_its_stored_payloads(backend: Backend) {
    let (db, store) = store(backend).await;
    let start = regen_domain::Timestamp::from_millis(1_780_000_000_000).unwrap();
    let jobs: Vec<_> = (0..40)
        .map(|n| {
            let mut job = new_job(JobStatus::Pending, ["insight", "article"][n % 2], "t");
            // Spacing, escapes and digits exactly as stored, a line break,
            // and characters of two and four bytes (pages are cut by bytes).
            job.instruction_json = JsonText::parse(format!(
                "{{ \"n\" : {n}.10,\n\"s\":\"\\u00e9\\\" é😀 9:-\" }}"
            ))
            .unwrap();
            job.output_ref = (n % 3 == 0).then(|| JsonText::parse("[1, 2]").unwrap());
            // Three share a creation time: the id breaks the tie.
            let at = regen_domain::Timestamp::from_millis(start.millis() + (n as i64 / 3) * 1000);
            (job, at.unwrap())
        })
        .collect();
    store.insert_jobs(jobs).await.unwrap();
    let articles = JobFilter {
        target_type: Some("article".into()),
        ..JobFilter::default()
    };
    let listing = store.list_jobs(&articles, None, 100).await.unwrap();
    let listed: Vec<JobId> = listing.iter().map(|j| j.id).collect();

    let pages = export_all(&store, &articles, 7).await;
    let exported: Vec<&regen_storage::StoredJob> = pages.iter().flatten().collect();

    let exported_ids: Vec<JobId> = exported.iter().map(|j| j.id.parse().unwrap()).collect();
    assert_eq!(exported_ids, listed);
    assert!(pages.iter().all(|page| page.len() <= 7));
    let raw = db.raw_pool().await;
    for job in exported {
        let (instruction, output): (String, Option<String>) = sqlx::query_as(
            "SELECT instruction_json, output_ref FROM regeneration_jobs WHERE id = $1",
        )
        .bind(&job.id)
        .fetch_one(&raw)
        .await
        .unwrap();
        assert_eq!(job.instruction_json, instruction);
        assert_eq!(job.output_ref, output);
        assert_eq!(job.target_type, "article");
    }
    let summaries = store
        .export_job_summaries(&articles, None, 100)
        .await
        .unwrap();
    // Every column as the listing reads it, in the listing's order.
    let summary_rows: Vec<[String; 6]> = summaries
        .rows
        .iter()
        .map(|row| row.map(|cell| cell.unwrap().to_owned()))
        .collect();
    let listed_rows: Vec<[String; 6]> = listing
        .iter()
        .map(|j| {
            [
                j.id.to_string(),
                j.status.as_str().to_owned(),
                j.target_type.clone(),
                j.target_id.clone(),
                j.created_at.to_string(),
                j.created_by.clone(),
            ]
        })
        .collect();
    assert_eq!(summary_rows, listed_rows);
    assert_eq!(summaries.next, None, "a short page is the last");
}

/// An export reads the page after a planned one while that one is read
/// (service `export_pages`): a page ends where its plan said, unless jobs
/// arrive in its range between the plan and the read; it then ends at its
/// last row read, which is where the next page starts: nothing is skipped
/// or read twice.
async fn a_planned_page_ends_where_planned_unless_jobs_arrive_in_its_range(backend: Backend) {
    let (_db, store) = store(backend).await;
    let start = Timestamp::from_millis(1_780_000_000_000).unwrap();
    let at = |millis: i64| Timestamp::from_millis(start.millis() + millis).unwrap();
    let jobs: Vec<_> = (0..12)
        .map(|n| (new_job(JobStatus::Pending, "insight", "t"), at(n * 1000)))
        .collect();
    let ids = store.insert_jobs(jobs).await.unwrap();
    let all = JobFilter::default();
    let read_ids = |page: &regen_storage::ExportPage<regen_storage::StoredJobs>| -> Vec<JobId> {
        page.rows
            .iter()
            .map(|job| job.id.parse().unwrap())
            .collect()
    };

    let plan = store.plan_job_page(&all, None, 5, 1 << 20).await.unwrap();
    let page = store.read_job_page(&all, &plan).await.unwrap();
    assert_eq!(read_ids(&page), [ids[11], ids[10], ids[9], ids[8], ids[7]]);
    let fifth = KeysetPosition {
        created_at: at(7000),
        id: ids[7],
    };
    assert_eq!(page.next, Some(fifth));
    match backend {
        Backend::Sqlite => assert_eq!(plan.planned_next(), Some(Some(fifth))),
        // Its one statement finds the page's end as it reads the page.
        Backend::Postgres => assert_eq!(plan.planned_next(), None),
    }

    // A job arrives in the next page's range after its plan, before its read.
    let plan = store
        .plan_job_page(&all, page.next, 5, 1 << 20)
        .await
        .unwrap();
    let late = store
        .insert_jobs(vec![(
            new_job(JobStatus::Pending, "insight", "t"),
            at(5500),
        )])
        .await
        .unwrap()[0];
    let page = store.read_job_page(&all, &plan).await.unwrap();
    assert_eq!(read_ids(&page), [ids[6], late, ids[5], ids[4], ids[3]]);
    let ended_at = KeysetPosition {
        created_at: at(3000),
        id: ids[3],
    };
    assert_eq!(page.next, Some(ended_at), "it ends at its last row read");
    if backend == Backend::Sqlite {
        assert_eq!(
            plan.planned_next(),
            Some(Some(KeysetPosition {
                created_at: at(2000),
                id: ids[2],
            })),
            "the plan's end was pushed out of the page"
        );
    }
    let rest = store.export_jobs(&all, page.next, 5).await.unwrap();
    assert_eq!(read_ids(&rest), [ids[2], ids[1], ids[0]]);
    assert_eq!(rest.next, None);
}

async fn export_pages_of_big_payloads_hold_their_bytes_or_one_job(backend: Backend) {
    let (_db, store) = store(backend).await;
    let payload = |bytes: usize| JsonText::parse(format!("\"{}\"", "x".repeat(bytes))).unwrap();
    let start = regen_domain::Timestamp::from_millis(1_780_000_000_000).unwrap();
    // Newest first, for pages of 256 KiB: two small, three of 150 KB, one of
    // 375 KB, two small. Bigger pages, bigger payloads, the same cuts.
    let scale = (regen_storage::max_page_bytes(backend) >> 18) as usize;
    assert!(scale >= 1, "pages hold at least 256 KiB");
    let sizes = [100, 100, 150_000, 150_000, 150_000, 375_000, 100, 100].map(|bytes| {
        if bytes > 100 {
            bytes * scale
        } else {
            bytes
        }
    });
    let jobs: Vec<_> = sizes
        .iter()
        .rev()
        .enumerate()
        .map(|(n, &bytes)| {
            let mut job = new_job(JobStatus::Pending, "insight", "t");
            job.instruction_json = payload(bytes);
            let at = regen_domain::Timestamp::from_millis(start.millis() + n as i64 * 1000);
            (job, at.unwrap())
        })
        .collect();
    store.insert_jobs(jobs).await.unwrap();

    let pages = export_all(&store, &JobFilter::default(), 1000).await;
    let page_sizes: Vec<Vec<usize>> = pages
        .iter()
        .map(|page| page.iter().map(|j| j.instruction_json.len() - 2).collect())
        .collect();

    let (big, bigger) = (150_000 * scale, 375_000 * scale);
    assert_eq!(
        page_sizes,
        [
            vec![100, 100, big],
            vec![big],
            vec![big],
            vec![bigger],
            vec![100, 100],
        ]
    );
}

async fn activity_rows(store: &Store, hour: &str) -> i64 {
    let (rows,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM regeneration_job_activity WHERE hour = $1",
    )
    .bind(hour)
    .fetch_one(store.pool())
    .await
    .unwrap();
    rows
}

/// A producer's own `INSERT … SELECT` of many jobs keeps every figure
/// exact, and on PostgreSQL writes each counter row once for the whole
/// statement (not once per job, which inside one transaction leaves a dead
/// row version per job: 1.2 GB of them after a ten-million-job import).
/// The transaction's own tuple statistics count the writes.
async fn a_bulk_insert_statement_writes_each_counter_row_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    let jobs = 600;
    // 600 jobs over two hours, three target types, every status.
    let insert = format!(
        "INSERT INTO regeneration_jobs (id, status, target_type, target_id, instruction_json, created_at, created_by) \
         SELECT '01900000-0000-7000-8000-' || {id_digits}, \
                CASE n % 4 WHEN 0 THEN 'PENDING' WHEN 1 THEN 'RUNNING' WHEN 2 THEN 'COMPLETED' ELSE 'FAILED' END, \
                CASE n % 3 WHEN 0 THEN 'insight' WHEN 1 THEN 'article' ELSE 'summary' END, \
                'bulk-' || n, '{{}}', \
                '2026-01-01T0' || (5 + n / 300) || ':' || {minute} || ':00.000Z', \
                'producer-sql' \
         FROM ({numbers}) AS numbers",
        numbers = match backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {jobs}) SELECT n FROM s"
            ),
            Backend::Postgres => format!("SELECT generate_series(0, {jobs} - 1) AS n"),
        },
        id_digits = match backend {
            Backend::Sqlite => "printf('%012d', n)",
            Backend::Postgres => "lpad(n::text, 12, '0')",
        },
        minute = match backend {
            Backend::Sqlite => "printf('%02d', n % 60)",
            Backend::Postgres => "lpad((n % 60)::text, 2, '0')",
        },
    );
    let mut tx = store.pool().begin().await.unwrap();
    let inserted = tx.execute(insert.as_str()).await.unwrap().rows_affected();
    assert_eq!(inserted, jobs);
    if backend == Backend::Postgres {
        for (table, rows) in [
            ("regeneration_job_counts", 3 * 4),
            ("regeneration_job_activity", 2 * 3),
        ] {
            let (writes,): (i64,) = sqlx::query_as(&format!(
                "SELECT pg_stat_get_xact_tuples_inserted('{table}'::regclass) \
                      + pg_stat_get_xact_tuples_updated('{table}'::regclass)"
            ))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            assert!(writes <= rows, "{table}: {writes} writes for {rows} rows");
        }
    }
    tx.commit().await.unwrap();

    let (kept, recounted) = store.kept_and_recounted().await.unwrap();
    assert_eq!(kept, recounted);
    assert_eq!(kept.iter().map(|r| r.jobs).sum::<i64>(), jobs as i64);
    let (kept, recounted) = store.kept_activity_and_recounted().await.unwrap();
    assert_eq!(kept, recounted);
}

/// Imported audit history keeps the trigger counts exact, and on
/// PostgreSQL adds its TRIGGERED events to the counters once per statement
/// (0016): once per event, inside the import's one transaction, every
/// event left a dead version of its hour's counter row, which no prune can
/// remove before the commit (a million-job demo left 53 MB of them for
/// 2,884 live rows). The table's size in pages shows the versions written.
async fn imported_triggers_are_counted_once_per_statement(backend: Backend) {
    let (_db, store) = store(backend).await;
    let events = 1_200;
    let created = |n: i64| Timestamp::from_millis(1_767_243_600_000 + n).unwrap(); // 2026-01-01T05
    let jobs = (0..events)
        .map(|n| {
            let job = new_job(JobStatus::Running, "insight", &format!("import-{n}"));
            (job, created(n))
        })
        .collect();
    let ids = store.insert_jobs(jobs).await.unwrap();
    let pages = || async {
        let (pages,): (i64,) =
            sqlx::query_as("SELECT pg_relation_size('regeneration_job_activity') / 8192")
                .fetch_one(store.pool())
                .await
                .unwrap();
        pages
    };
    let before = match backend {
        Backend::Postgres => pages().await,
        Backend::Sqlite => 0,
    };
    let history: Vec<regen_domain::AuditEvent> = ids
        .iter()
        .enumerate()
        .map(|(n, &job_id)| regen_domain::AuditEvent {
            id: uuid::Uuid::now_v7(),
            event_type: AuditEventType::Triggered,
            job_id,
            actor: "importer".into(),
            occurred_at: created(3_600_000 + n as i64), // 2026-01-01T06
            request_id: None,
            details: None,
        })
        .collect();
    store.insert_audit_events(&history).await.unwrap();

    if backend == Backend::Postgres {
        let grown = pages().await - before;
        assert!(
            grown <= 2,
            "{grown} pages of counter rows for {events} events"
        );
    }
    let (kept, recounted) = store.kept_activity_and_recounted().await.unwrap();
    assert_eq!(kept, recounted);
    let activity = store
        .job_activity(created(0), created(7_200_000), 13, None)
        .await
        .unwrap();
    let triggered: Vec<(&str, u64)> = activity
        .iter()
        .map(|bucket| (bucket.bucket.as_str(), bucket.triggered))
        .filter(|(_, triggered)| *triggered > 0)
        .collect();
    assert_eq!(triggered, vec![("2026-01-01T06", events as u64)]);
}

/// Raw inserts and triggers, each its own transaction, spread one hour's
/// figures over several shards on PostgreSQL; the fold leaves one row per
/// past hour and target type with the same sums, and leaves the current
/// hour alone.
async fn folding_activity_shards_keeps_every_figure_in_one_row_per_past_hour(backend: Backend) {
    let (_db, store) = store(backend).await;
    let past = "2026-01-01T05:00:00.000Z";
    for minute in 0..6 {
        raw_insert_job(
            &store,
            "insight",
            "PENDING",
            &format!("2026-01-01T05:{minute:02}:00.000Z"),
        )
        .await;
    }
    raw_insert_job(&store, "article", "FAILED", "2026-01-01T05:30:00.000Z").await;
    let now = regen_storage::now();
    let this_hour = format!("{}:00:00.000Z", &now.to_string()[..13]);
    for _ in 0..4 {
        pending_job(&store).await;
    }
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM regeneration_jobs WHERE created_at < '2026-01-02' AND status = 'PENDING' LIMIT 3",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for id in ids {
        store
            .trigger_job(id.parse().unwrap(), "a", None)
            .await
            .unwrap();
    }
    let from = regen_domain::Timestamp::from_millis(1_767_225_600_000).unwrap(); // 2026-01-01
    let to = regen_domain::Timestamp::from_millis(now.millis() + 3_600_000).unwrap();
    let before = store.job_activity(from, to, 13, None).await.unwrap();
    let current_rows = activity_rows(&store, &this_hour).await;
    if backend == Backend::Postgres {
        assert!(
            activity_rows(&store, past).await > 2,
            "raw writes spread over shards"
        );
    }

    store
        .fold_activity_shards(this_hour.parse().unwrap())
        .await
        .unwrap();

    assert_eq!(
        activity_rows(&store, past).await,
        2,
        "one row per target type"
    );
    assert_eq!(
        activity_rows(&store, &this_hour).await,
        current_rows,
        "this hour is left alone"
    );
    let mut after = store.job_activity(from, to, 13, None).await.unwrap();
    let mut before = before;
    before.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    after.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    assert_eq!(after, before);
    let (kept, recounted) = store.kept_activity_and_recounted().await.unwrap();
    assert_eq!(kept, recounted);
    let past_hour = after.iter().find(|b| b.bucket == "2026-01-01T05").unwrap();
    assert_eq!(past_hour.created.get(JobStatus::Pending), 3);
    assert_eq!(past_hour.created.get(JobStatus::Running), 3);
    assert_eq!(past_hour.created.get(JobStatus::Failed), 1);
}

/// Bulk imports hold their counter rows until they commit; with one shard
/// per transaction they neither deadlock each other nor hold up triggers.
async fn concurrent_bulk_imports_and_triggers_all_commit_with_exact_counts(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut pending = Vec::new();
    for _ in 0..8 {
        pending.push(pending_job(&store).await.id);
    }
    let at = regen_domain::Timestamp::from_millis(1_780_000_000_000).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        let batch: Vec<_> = (0..300)
            .map(|n| {
                let target_type = if n % 2 == 0 { "insight" } else { "article" };
                (new_job(JobStatus::Pending, target_type, "bulk"), at)
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            store.insert_jobs(batch).await.map(|ids| ids.len())
        }));
    }
    for id in pending {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.trigger_job(id, "a", None).await.map(|_| 1)
        }));
    }
    for task in tasks {
        task.await.unwrap().expect("every transaction commits");
    }

    let (kept, counted) = store.kept_and_recounted().await.unwrap();

    assert_eq!(kept, counted);
    assert_eq!(kept.iter().map(|r| r.jobs).sum::<i64>(), 8 + 4 * 300);
}

async fn every_documented_filter_shape_has_a_plan(backend: Backend) {
    let (_db, store) = store(backend).await;
    store
        .insert_job(new_job(JobStatus::Pending, "article", "art-0000042"))
        .await
        .unwrap();
    for (shape, filter) in regen_storage::testing::documented_filter_shapes() {
        let plan = store.explain_list_jobs(&filter, 50).await.unwrap();
        assert!(!plan.is_empty(), "{shape}");
    }
}

fn bulk<'a>(selection: BulkSelection<'a>) -> BulkTrigger<'a> {
    BulkTrigger {
        selection,
        actor: "admin-id",
        request_id: Some("req-bulk"),
        details: JsonText::parse(r#"{"bulkId":"b-1","idCount":3}"#).unwrap(),
    }
}

fn done(outcome: BulkOutcome) -> BulkTriggered {
    match outcome {
        BulkOutcome::Done(done) => done,
        other => panic!("expected a committed bulk, got {other:?}"),
    }
}

/// Rows of a table, by raw SQL (what the application cannot hide).
async fn count_rows(store: &Store, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap();
    n
}

async fn a_bulk_by_ids_triggers_each_pending_job_once_and_reports_the_others(backend: Backend) {
    let (_db, store) = store(backend).await;
    let pending: Vec<_> = [pending_job(&store).await, pending_job(&store).await]
        .iter()
        .map(|job| job.id)
        .collect();
    let running = store
        .insert_job(new_job(JobStatus::Running, "insight", "r"))
        .await
        .unwrap()
        .id;
    let completed = store
        .insert_job(new_job(JobStatus::Completed, "insight", "c"))
        .await
        .unwrap()
        .id;
    let unknown = regen_domain::JobId::from_uuid(uuid::Uuid::now_v7());
    let ids = [
        pending[0], running, pending[1], pending[0], unknown, completed,
    ];

    let done = done(
        store
            .bulk_trigger(&bulk(BulkSelection::Ids(&ids)), None)
            .await
            .unwrap(),
    );

    assert_eq!(done.triggered, pending);
    assert_eq!(
        done.conflicts,
        [
            (running, JobStatus::Running),
            (completed, JobStatus::Completed)
        ]
    );
    assert_eq!(done.not_found, [unknown]);
    assert!(done.audit.is_ok());
    for id in &pending {
        let events = store.audit_events(*id).await.unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[1].event_type, AuditEventType::Triggered);
        assert_eq!(events[1].request_id.as_deref(), Some("req-bulk"));
        assert_eq!(
            events[1].details.as_ref().map(|d| d.as_str()),
            Some(r#"{"bulkId":"b-1","idCount":3}"#)
        );
        assert_eq!(
            store.get_job(*id).await.unwrap().unwrap().status,
            JobStatus::Running
        );
    }
    for id in [running, completed] {
        assert_eq!(store.audit_events(id).await.unwrap().len(), 1);
    }
    assert_every_figure_recounts(&store).await;
}

async fn a_bulk_by_filter_triggers_exactly_the_pending_jobs_it_selects(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut selected = Vec::new();
    for n in 0..3 {
        let job = store
            .insert_job(new_job(JobStatus::Pending, "insight", &format!("i-{n}")))
            .await
            .unwrap();
        selected.push(job.id);
    }
    let other_type = store
        .insert_job(new_job(JobStatus::Pending, "summary", "s-1"))
        .await
        .unwrap()
        .id;
    let not_pending = store
        .insert_job(new_job(JobStatus::Failed, "insight", "i-9"))
        .await
        .unwrap()
        .id;
    let filter = JobFilter {
        statuses: vec![JobStatus::Pending],
        target_type: Some("insight".into()),
        ..JobFilter::default()
    };

    let done = done(
        store
            .bulk_trigger(
                &bulk(BulkSelection::Filter {
                    filter: &filter,
                    expected_count: 3,
                    max: 3,
                }),
                None,
            )
            .await
            .unwrap(),
    );

    selected.reverse(); // newest first, as the list shows them
    assert_eq!(done.triggered, selected);
    assert!(done.conflicts.is_empty() && done.not_found.is_empty());
    for (id, status) in [
        (other_type, JobStatus::Pending),
        (not_pending, JobStatus::Failed),
    ] {
        assert_eq!(store.get_job(id).await.unwrap().unwrap().status, status);
        assert_eq!(store.audit_events(id).await.unwrap().len(), 1);
    }
    assert_every_figure_recounts(&store).await;
}

async fn a_bulk_by_filter_with_another_count_or_too_many_jobs_changes_nothing(backend: Backend) {
    let (_db, store) = store(backend).await;
    for _ in 0..3 {
        pending_job(&store).await;
    }
    let filter = JobFilter {
        statuses: vec![JobStatus::Pending],
        ..JobFilter::default()
    };
    let by_filter = |expected_count, max| {
        bulk(BulkSelection::Filter {
            filter: &filter,
            expected_count,
            max,
        })
    };

    let other_count = store.bulk_trigger(&by_filter(2, 10), None).await.unwrap();
    let too_many = store.bulk_trigger(&by_filter(3, 2), None).await.unwrap();

    assert!(matches!(
        other_count,
        BulkOutcome::CountChanged { current: 3 }
    ));
    assert!(matches!(too_many, BulkOutcome::TooMany));
    let running = "SELECT COUNT(*) FROM regeneration_jobs WHERE status <> 'PENDING'";
    assert_eq!(count_rows(&store, running).await, 0);
    let triggered = "SELECT COUNT(*) FROM audit_events WHERE event_type = 'REGEN_JOB_TRIGGERED'";
    assert_eq!(count_rows(&store, triggered).await, 0);
    assert_every_figure_recounts(&store).await;
}

async fn a_bulk_audit_failure_keeps_the_transitions_and_hands_back_every_event(backend: Backend) {
    let (db, store) = store(backend).await;
    let ids = [pending_job(&store).await.id, pending_job(&store).await.id];
    break_audit_inserts(&db).await;

    let done = done(
        store
            .bulk_trigger(&bulk(BulkSelection::Ids(&ids)), None)
            .await
            .unwrap(),
    );

    assert_eq!(done.triggered, ids);
    let failure = done.audit.expect_err("the audit rows were refused");
    let mut journaled: Vec<_> = failure.events.iter().map(|e| e.job_id).collect();
    journaled.sort();
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(journaled, expected);
    for id in ids {
        assert_eq!(
            store.get_job(id).await.unwrap().unwrap().status,
            JobStatus::Running
        );
        assert_eq!(store.audit_events(id).await.unwrap().len(), 1);
    }
    assert_every_figure_recounts(&store).await;
}

/// Bulks over overlapping halves of the jobs race single triggers of every
/// job: each job is triggered by exactly one of them, with one audit row.
async fn overlapping_bulks_and_single_triggers_trigger_each_job_exactly_once(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut ids = Vec::new();
    for n in 0..24 {
        let target_type = if n % 2 == 0 { "insight" } else { "summary" };
        let job = store
            .insert_job(new_job(JobStatus::Pending, target_type, &format!("t-{n}")))
            .await
            .unwrap();
        ids.push(job.id);
    }
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        let chosen: Vec<_> = ids.iter().copied().skip(n * 2).take(12).collect();
        tasks.push(tokio::spawn(async move {
            let done = done(
                store
                    .bulk_trigger(&bulk(BulkSelection::Ids(&chosen)), None)
                    .await
                    .unwrap(),
            );
            done.triggered
        }));
    }
    for &id in &ids {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            match store.trigger_job(id, "single", None).await.unwrap() {
                TriggerResult::Triggered { .. } => vec![id],
                _ => Vec::new(),
            }
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }

    winners.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(winners, expected, "one winner per job");
    for id in &ids {
        let triggers = store
            .audit_events(*id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event_type == AuditEventType::Triggered)
            .count();
        assert_eq!(triggers, 1, "{id}");
    }
    assert_every_figure_recounts(&store).await;
}

async fn a_bulk_of_more_ids_than_one_statement_takes_triggers_them_all(backend: Backend) {
    let (_db, store) = store(backend).await;
    let created = regen_domain::Timestamp::from_millis(1_790_000_000_000).unwrap();
    let jobs = (0..700)
        .map(|n| {
            (
                new_job(JobStatus::Pending, "insight", &format!("m-{n}")),
                created,
            )
        })
        .collect();
    let mut ids = store.insert_jobs(jobs).await.unwrap();
    let unknown: Vec<_> = (0..400)
        .map(|_| regen_domain::JobId::from_uuid(uuid::Uuid::now_v7()))
        .collect();
    ids.extend(&unknown);

    let done = done(
        store
            .bulk_trigger(&bulk(BulkSelection::Ids(&ids)), None)
            .await
            .unwrap(),
    );

    assert_eq!(done.triggered, ids[..700]);
    assert_eq!(done.not_found, unknown);
    let triggered = "SELECT COUNT(*) FROM audit_events WHERE event_type = 'REGEN_JOB_TRIGGERED'";
    assert_eq!(count_rows(&store, triggered).await, 700);
    assert_every_figure_recounts(&store).await;
}

/// A bulk by filter reads before it writes. Another instance (a pool of
/// its own, so no shared turn) writing all the while must not make it fail:
/// on SQLite a deferred transaction whose snapshot went stale could not
/// take the write lock at all.
async fn bulks_by_filter_commit_beside_another_instances_writes(backend: Backend) {
    let (db, store) = store(backend).await;
    let other = db.store().await;
    let writer = tokio::spawn(async move {
        for n in 0..300 {
            other
                .insert_job(new_job(JobStatus::Pending, "elsewhere", &format!("w-{n}")))
                .await
                .unwrap();
        }
    });
    for round in 0..20 {
        let target_type = format!("round-{round}");
        for n in 0..3 {
            store
                .insert_job(new_job(JobStatus::Pending, &target_type, &format!("j-{n}")))
                .await
                .unwrap();
        }
        let filter = JobFilter {
            statuses: vec![JobStatus::Pending],
            target_type: Some(target_type),
            ..JobFilter::default()
        };
        let selection = BulkSelection::Filter {
            filter: &filter,
            expected_count: 3,
            max: 10,
        };

        let done = done(store.bulk_trigger(&bulk(selection), None).await.unwrap());

        assert_eq!(done.triggered.len(), 3, "round {round}");
    }
    writer.await.unwrap();
    assert_every_figure_recounts(&store).await;
}

const POLICY: KeyPolicy = KeyPolicy {
    keep: std::time::Duration::from_secs(24 * 3600),
    lease: std::time::Duration::from_secs(60),
};

async fn claim_key(store: &Store, owner: &str, key: &str, hash: &str) -> KeyClaim {
    store
        .claim_idempotency_key(owner, key, hash, POLICY)
        .await
        .unwrap()
}

fn claimed(claim: KeyClaim) -> regen_storage::IdempotencyClaim {
    match claim {
        KeyClaim::Claimed(claim) => claim,
        other => panic!("expected a claim, got {other:?}"),
    }
}

async fn an_idempotency_key_is_claimed_once_and_then_replays_its_answer(backend: Backend) {
    let (_db, store) = store(backend).await;
    let claim = claimed(claim_key(&store, "ada", "k-1", "hash-a").await);
    let answer = StoredAnswer {
        status: 404,
        body: r#"{"status":404}"#.into(),
    };

    assert!(store.finish_idempotency_key(&claim, &answer).await.unwrap());
    let again = claim_key(&store, "ada", "k-1", "hash-a").await;
    let other_owner = claim_key(&store, "bob", "k-1", "hash-a").await;

    assert_eq!(again, KeyClaim::Replay(answer));
    assert!(
        matches!(other_owner, KeyClaim::Claimed(_)),
        "{other_owner:?}"
    );
}

async fn a_key_with_another_request_is_a_mismatch_and_a_running_one_in_progress(backend: Backend) {
    let (_db, store) = store(backend).await;
    let claim = claimed(claim_key(&store, "ada", "k-1", "hash-a").await);

    let running = claim_key(&store, "ada", "k-1", "hash-a").await;
    let other_body = claim_key(&store, "ada", "k-1", "hash-b").await;
    store.release_idempotency_key(&claim).await.unwrap();
    let released = claim_key(&store, "ada", "k-1", "hash-b").await;

    assert_eq!(running, KeyClaim::InProgress);
    assert_eq!(other_body, KeyClaim::Mismatch);
    assert!(matches!(released, KeyClaim::Claimed(_)), "{released:?}");
}

/// Moves every key's start `seconds` into the past, as time passing would.
async fn age_keys(store: &Store, seconds: i64) {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT owner, idempotency_key, created_at FROM idempotency_keys")
            .fetch_all(store.pool())
            .await
            .unwrap();
    for (owner, key, created_at) in rows {
        let at: regen_domain::Timestamp = created_at.parse().unwrap();
        let older = regen_domain::Timestamp::from_millis(at.millis() - seconds * 1000).unwrap();
        sqlx::query(
            "UPDATE idempotency_keys SET created_at = $1 WHERE owner = $2 AND idempotency_key = $3",
        )
        .bind(older.to_string())
        .bind(owner)
        .bind(key)
        .execute(store.pool())
        .await
        .unwrap();
    }
}

async fn a_key_whose_lease_ran_out_is_taken_over_and_its_old_claim_rolls_back(backend: Backend) {
    let (_db, store) = store(backend).await;
    let job = pending_job(&store).await;
    let first = claimed(claim_key(&store, "ada", "k-1", "hash-a").await);
    age_keys(&store, 61).await;

    let second = claimed(claim_key(&store, "ada", "k-1", "hash-a").await);
    let answer = |_: &regen_domain::RegenerationJob| StoredAnswer {
        status: 200,
        body: "first".into(),
    };
    let late = store
        .trigger_job_answering(
            job.id,
            "admin-id",
            None,
            Some(AnswerUnder {
                claim: &first,
                answer: &answer,
            }),
        )
        .await
        .unwrap();

    assert!(matches!(late, TriggerResult::ClaimLost), "{late:?}");
    let stored = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(stored.status, JobStatus::Pending, "rolled back");
    assert_eq!(store.audit_events(job.id).await.unwrap().len(), 1);
    assert_ne!(first, second);
}

async fn keys_older_than_a_day_are_pruned_on_write(backend: Backend) {
    let (_db, store) = store(backend).await;
    for key in ["old-1", "old-2"] {
        let claim = claimed(claim_key(&store, "ada", key, "h").await);
        let answer = StoredAnswer {
            status: 200,
            body: "{}".into(),
        };
        store.finish_idempotency_key(&claim, &answer).await.unwrap();
    }
    age_keys(&store, 24 * 3600 + 1).await;

    let reused = claim_key(&store, "ada", "old-1", "another").await;

    assert!(matches!(reused, KeyClaim::Claimed(_)), "{reused:?}");
    let keys = "SELECT COUNT(*) FROM idempotency_keys";
    assert_eq!(count_rows(&store, keys).await, 1, "old-2 pruned");
}

async fn a_keyed_trigger_keeps_its_answer_in_the_transaction_of_its_transition(backend: Backend) {
    let (db, store) = store(backend).await;
    let job = pending_job(&store).await;
    let claim = claimed(claim_key(&store, "ada", "k-1", "hash-a").await);
    let answer = |job: &regen_domain::RegenerationJob| StoredAnswer {
        status: 200,
        body: job.id.to_string(),
    };
    // A failed transition keeps no answer either: the key is still running.
    break_writes(&db, "regeneration_jobs", "UPDATE").await;
    let keyed = || {
        Some(AnswerUnder {
            claim: &claim,
            answer: &answer,
        })
    };
    assert!(store
        .trigger_job_answering(job.id, "admin-id", None, keyed())
        .await
        .is_err());
    assert_eq!(
        claim_key(&store, "ada", "k-1", "hash-a").await,
        KeyClaim::InProgress
    );
    repair_writes(&db, "regeneration_jobs").await;

    let outcome = store
        .trigger_job_answering(job.id, "admin-id", None, keyed())
        .await
        .unwrap();

    assert!(matches!(outcome, TriggerResult::Triggered { .. }));
    assert_eq!(
        claim_key(&store, "ada", "k-1", "hash-a").await,
        KeyClaim::Replay(StoredAnswer {
            status: 200,
            body: job.id.to_string(),
        })
    );
}
