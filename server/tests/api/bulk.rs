//! The bulk trigger: both forms, what it refuses, who may use it, and a
//! race against single triggers across two instances.

use regen_domain::JobStatus;
use regen_storage::testing::break_audit_inserts;
use regen_storage::Backend;
use serde_json::{json, Value};

use crate::helpers::{client, spawn_app, spawn_app_with_bulk_max, spawn_second_instance, TestApp};

both_backends!(
    a_bulk_by_ids_triggers_the_pending_jobs_and_reports_the_others,
    a_bulk_by_filter_triggers_the_pending_jobs_the_filter_selects,
    a_bulk_by_filter_whose_count_changed_is_409_and_triggers_nothing,
    a_bulk_over_the_maximum_is_413_naming_it_and_triggers_nothing,
    bad_bulk_bodies_are_400_and_trigger_nothing,
    a_read_scope_token_or_a_member_gets_403_and_nothing_changes,
    every_audit_row_of_a_bulk_carries_its_bulk_id,
    a_bulk_whose_audit_fails_still_triggers_and_journals_every_event,
    a_64_way_race_of_overlapping_bulk_and_single_triggers_has_one_winner_per_job,
);

pub const BULK: &str = "/api/admin/regeneration-jobs/bulk-trigger";

pub async fn bulk(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    client()
        .post(app.url(BULK))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn pending(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(app.insert_job(JobStatus::Pending).await);
    }
    ids
}

async fn a_bulk_by_ids_triggers_the_pending_jobs_and_reports_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = pending(&app, 2).await;
    let running = app.insert_job(JobStatus::Running).await;
    let completed = app.insert_job(JobStatus::Completed).await;
    let unknown = uuid::Uuid::now_v7().to_string();

    let response = bulk(
        &app,
        &app.admin_token,
        &json!({"ids": [ids[0], running, ids[1], ids[0], unknown, "not-an-id", completed]}),
    )
    .await;

    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["triggered"], json!(ids));
    assert_eq!(
        body["conflicts"],
        json!([
            {"id": running, "currentStatus": "RUNNING"},
            {"id": completed, "currentStatus": "COMPLETED"},
        ])
    );
    assert_eq!(body["notFound"], json!([unknown, "not-an-id"]));
    assert!(body["bulkId"].as_str().is_some_and(|id| id.len() == 36));
    for id in &ids {
        assert_eq!(app.detail(id).await["status"], "RUNNING");
    }
    assert_eq!(app.detail(&completed).await["status"], "COMPLETED");
}

async fn a_bulk_by_filter_triggers_the_pending_jobs_the_filter_selects(backend: Backend) {
    let app = spawn_app(backend).await;
    let selected = pending(&app, 3).await;
    let store = app.store().await;
    let mut other = crate::helpers::new_job(JobStatus::Pending);
    other.target_type = "summary".into();
    let other = store.insert_job(other).await.unwrap().id.to_string();
    let failed = app.insert_job(JobStatus::Failed).await;

    let response = bulk(
        &app,
        &app.admin_token,
        &json!({"filter": {"status": "PENDING", "targetType": "insight", "targetId": ""}, "expectedCount": 3}),
    )
    .await;

    assert_eq!(response.status(), 200);
    let body = json(response).await;
    let mut newest_first = selected.clone();
    newest_first.reverse();
    assert_eq!(body["triggered"], json!(newest_first));
    assert_eq!(body["conflicts"], json!([]));
    assert_eq!(body["notFound"], json!([]));
    assert_eq!(app.detail(&other).await["status"], "PENDING");
    assert_eq!(app.detail(&failed).await["status"], "FAILED");
}

async fn a_bulk_by_filter_whose_count_changed_is_409_and_triggers_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    pending(&app, 3).await;
    let before = app.snapshot().await;

    let response = bulk(
        &app,
        &app.admin_token,
        &json!({"filter": {"targetType": "insight"}, "expectedCount": 2}),
    )
    .await;

    assert_eq!(response.status(), 409);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(json(response).await["currentCount"], 3);
    assert_eq!(app.snapshot().await, before);
}

async fn a_bulk_over_the_maximum_is_413_naming_it_and_triggers_nothing(backend: Backend) {
    let app = spawn_app_with_bulk_max(backend, 2).await;
    let ids = pending(&app, 3).await;
    let before = app.snapshot().await;

    let by_ids = bulk(&app, &app.admin_token, &json!({ "ids": ids })).await;
    let by_filter = bulk(
        &app,
        &app.admin_token,
        &json!({"filter": {}, "expectedCount": 3}),
    )
    .await;
    // JSON Schema's integer: 3.0 is 3 (schemathesis sends such numbers).
    let spelt_as_a_float = bulk(
        &app,
        &app.admin_token,
        &json!({"filter": {}, "expectedCount": 3.0}),
    )
    .await;

    for response in [by_ids, by_filter, spelt_as_a_float] {
        assert_eq!(response.status(), 413);
        let body = json(response).await;
        assert_eq!(body["maximum"], 2);
        assert!(body["detail"].as_str().unwrap().contains('2'), "{body}");
    }
    assert_eq!(app.snapshot().await, before);
    // Duplicates count once: two distinct ids are within the maximum.
    let duplicates = json!({"ids": [ids[0], ids[0], ids[0], ids[1]]});
    let within = bulk(&app, &app.admin_token, &duplicates).await;
    assert_eq!(within.status(), 200);
    assert_eq!(json(within).await["triggered"], json!(ids[..2]));
}

async fn bad_bulk_bodies_are_400_and_trigger_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = pending(&app, 1).await;
    let before = app.snapshot().await;

    for body in [
        json!({"ids": []}),
        json!({"ids": ids, "filter": {}}),
        json!({"ids": [1]}),
        json!({"filter": {"status": "RUNNING"}, "expectedCount": 1}),
        json!({"filter": {"status": "COMPLETED"}, "expectedCount": 0}),
        json!({"filter": {"sort": "x"}, "expectedCount": 1}),
        json!({"filter": {"createdFrom": "yesterday"}, "expectedCount": 1}),
        json!({"filter": {}}),
        json!({"filter": {}, "expectedCount": -1}),
        json!({"filter": {}, "expectedCount": 1.5}),
        json!({"filter": {}, "expectedCount": 1_000_000_001u64}),
        json!({}),
        json!([]),
    ] {
        let response = bulk(&app, &app.admin_token, &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let not_json = client()
        .post(app.url(BULK))
        .bearer_auth(&app.admin_token)
        .body("ids=1")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(app.snapshot().await, before);
}

async fn a_read_scope_token_or_a_member_gets_403_and_nothing_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = pending(&app, 2).await;
    let reader = app.read_token("ada").await;
    let before = app.snapshot().await;

    for token in [&reader, &app.member_token] {
        for body in [
            json!({ "ids": ids }),
            json!({"filter": {}, "expectedCount": 2}),
        ] {
            let response = bulk(&app, token, &body).await;
            assert_eq!(response.status(), 403, "{body}");
        }
    }
    assert_eq!(app.snapshot().await, before);
}

async fn audit_of(app: &TestApp, id: &str) -> Vec<Value> {
    let path = format!("/api/admin/audit-events?jobId={id}&eventType=REGEN_JOB_TRIGGERED");
    let response = app.get(&path, Some(&app.admin_token)).await;
    json(response).await.as_array().unwrap().clone()
}

async fn every_audit_row_of_a_bulk_carries_its_bulk_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let by_id = pending(&app, 2).await;

    let first = json(bulk(&app, &app.admin_token, &json!({ "ids": by_id })).await).await;
    let by_filter = pending(&app, 1).await;
    let second = json(
        bulk(
            &app,
            &app.admin_token,
            &json!({"filter": {"targetType": "insight"}, "expectedCount": 1}),
        )
        .await,
    )
    .await;

    for id in &by_id {
        let events = audit_of(&app, id).await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            events[0]["details"],
            json!({"bulkId": first["bulkId"], "idCount": 2})
        );
        assert_eq!(events[0]["actorName"], "ada");
    }
    let events = audit_of(&app, &by_filter[0]).await;
    assert_eq!(
        events[0]["details"],
        json!({
            "bulkId": second["bulkId"],
            "filter": {"status": "PENDING", "targetType": "insight"},
            "expectedCount": 1,
        })
    );
    assert_ne!(first["bulkId"], second["bulkId"]);
}

async fn a_bulk_whose_audit_fails_still_triggers_and_journals_every_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = pending(&app, 3).await;
    break_audit_inserts(&app.database).await;

    let response = bulk(&app, &app.admin_token, &json!({ "ids": ids })).await;

    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["triggered"], json!(ids));
    let journal = std::fs::read_to_string(&app.journal).unwrap();
    for id in &ids {
        assert_eq!(app.detail(id).await["status"], "RUNNING");
        assert!(journal.contains(id.as_str()), "{id} not journaled");
    }
    assert_eq!(journal.lines().count(), 3);
}

/// 32 bulks over overlapping windows of 20 jobs and 32 single triggers of
/// them, spread over two instances on one database: every job is
/// triggered by exactly one request, and has exactly one trigger audit row.
async fn a_64_way_race_of_overlapping_bulk_and_single_triggers_has_one_winner_per_job(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    let addresses = [app.address.clone(), second];
    let ids = pending(&app, 20).await;
    let client = client();
    let mut tasks = Vec::new();
    for n in 0..64 {
        let base = &addresses[n % 2];
        let request = if n % 2 == 0 {
            let window: Vec<_> = ids.iter().cycle().skip(n % 20).take(8).collect();
            client
                .post(format!("{base}{BULK}"))
                .json(&json!({ "ids": window }))
        } else {
            let id = &ids[n % 20];
            client.post(format!("{base}/api/admin/regeneration-jobs/{id}/trigger"))
        };
        let request = request.bearer_auth(&app.admin_token);
        let single = n % 2 == 1;
        let id = ids[n % 20].clone();
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            match (single, status) {
                (true, 200) => vec![id],
                (true, 409) => Vec::new(),
                (false, 200) => {
                    let body: Value = response.json().await.unwrap();
                    body["triggered"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|id| id.as_str().unwrap().to_owned())
                        .collect()
                }
                other => panic!("unexpected answer {other:?}"),
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
    assert_eq!(winners, expected, "exactly one winner per job");
    for id in &ids {
        assert_eq!(audit_of(&app, id).await.len(), 1, "{id}");
    }
}
