//! Idempotency-Key on the trigger and the bulk trigger: replay, reuse with
//! another request, a request still running, one whose instance died,
//! invalid keys, scope, and two instances on one database.

use regen_domain::JobStatus;
use regen_service::{Operator, TokenRequest};
use regen_storage::Backend;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::bulk::BULK;
use crate::helpers::{client, spawn_app, spawn_second_instance, TestApp};

both_backends!(
    a_trigger_sent_again_with_its_key_replays_its_first_answer,
    a_bulk_sent_again_with_its_key_replays_its_first_answer_from_another_instance,
    a_refusal_is_replayed_too,
    a_key_used_for_another_request_is_422,
    a_key_whose_request_is_still_running_is_409,
    a_key_left_running_by_a_dead_instance_runs_again_after_its_lease,
    keys_belong_to_the_credentials_owner,
    invalid_keys_are_400_and_change_nothing,
    a_read_scope_token_with_a_key_gets_403_and_writes_no_key,
    concurrent_requests_with_one_key_on_two_instances_run_once,
);

fn trigger_path(id: &str) -> String {
    format!("/api/admin/regeneration-jobs/{id}/trigger")
}

async fn keyed_trigger(base: &str, id: &str, token: &str, key: &str) -> reqwest::Response {
    client()
        .post(format!("{base}{}", trigger_path(id)))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .send()
        .await
        .unwrap()
}

async fn keyed_bulk(base: &str, body: &Value, token: &str, key: &str) -> reqwest::Response {
    client()
        .post(format!("{base}{BULK}"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// Status, replay header and body of an answer.
async fn answer(response: reqwest::Response) -> (u16, Option<String>, String) {
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        replayed,
        response.text().await.unwrap(),
    )
}

async fn trigger_rows(app: &TestApp, id: &str) -> usize {
    app.detail(id).await["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "REGEN_JOB_TRIGGERED")
        .count()
}

async fn a_trigger_sent_again_with_its_key_replays_its_first_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;

    let first = answer(keyed_trigger(&app.address, &id, &app.admin_token, "k-1").await).await;
    let again = answer(keyed_trigger(&app.address, &id, &app.admin_token, "k-1").await).await;
    let unkeyed = app.trigger(&id, Some(&app.admin_token)).await;

    assert_eq!((first.0, first.1.as_deref()), (200, None));
    assert_eq!(again, (200, Some("true".into()), first.2.clone()));
    let body: Value = serde_json::from_str(&first.2).unwrap();
    assert_eq!(body["status"], "RUNNING");
    // Without the key, the trigger is what it always was.
    assert_eq!(unkeyed.status(), 409);
    assert_eq!(trigger_rows(&app, &id).await, 1);
}

async fn a_bulk_sent_again_with_its_key_replays_its_first_answer_from_another_instance(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let body = json!({ "ids": [id] });

    let first = answer(keyed_bulk(&app.address, &body, &app.admin_token, "bulk-1").await).await;
    let again = answer(keyed_bulk(&second, &body, &app.admin_token, "bulk-1").await).await;

    assert_eq!(first.0, 200);
    assert_eq!(again, (200, Some("true".into()), first.2.clone()));
    let result: Value = serde_json::from_str(&first.2).unwrap();
    assert_eq!(result["triggered"], json!([id]));
    assert_eq!(trigger_rows(&app, &id).await, 1);
}

async fn a_refusal_is_replayed_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Completed).await;
    let pending = app.insert_job(JobStatus::Pending).await;
    let count = json!({"filter": {}, "expectedCount": 5});

    let conflict = answer(keyed_trigger(&app.address, &id, &app.admin_token, "c-1").await).await;
    let count_changed =
        answer(keyed_bulk(&app.address, &count, &app.admin_token, "c-2").await).await;
    let replays = [
        answer(keyed_trigger(&app.address, &id, &app.admin_token, "c-1").await).await,
        answer(keyed_bulk(&app.address, &count, &app.admin_token, "c-2").await).await,
    ];

    assert_eq!((conflict.0, count_changed.0), (409, 409));
    assert_eq!(replays[0], (409, Some("true".into()), conflict.2));
    assert_eq!(replays[1], (409, Some("true".into()), count_changed.2));
    assert_eq!(app.detail(&pending).await["status"], "PENDING");
}

async fn a_key_used_for_another_request_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = [
        app.insert_job(JobStatus::Pending).await,
        app.insert_job(JobStatus::Pending).await,
    ];
    let first = keyed_trigger(&app.address, &ids[0], &app.admin_token, "k-1").await;
    assert_eq!(first.status(), 200);

    let other_job = keyed_trigger(&app.address, &ids[1], &app.admin_token, "k-1").await;
    let other_route = keyed_bulk(
        &app.address,
        &json!({"ids": [ids[1]]}),
        &app.admin_token,
        "k-1",
    )
    .await;

    for response in [other_job, other_route] {
        assert_eq!(response.status(), 422);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    assert_eq!(app.detail(&ids[1]).await["status"], "PENDING");
}

/// The fingerprint the server keeps for a request (method, path, body).
fn fingerprint(path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("POST\n{path}\n").as_bytes());
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A key row as a request that is still running (or died) leaves it.
async fn running_key(app: &TestApp, key: &str, path: &str, seconds_ago: i64) {
    let user: (String,) = sqlx::query_as("SELECT id FROM users WHERE username = 'ada'")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap();
    let now = regen_service::now();
    let started = regen_domain::Timestamp::from_millis(now.millis() - seconds_ago * 1000).unwrap();
    sqlx::query(
        "INSERT INTO idempotency_keys (owner, idempotency_key, request_hash, state, created_at) \
         VALUES ($1, $2, $3, 'IN_PROGRESS', $4)",
    )
    .bind(user.0)
    .bind(key)
    .bind(fingerprint(path, b""))
    .bind(started.to_string())
    .execute(&app.database.raw_pool().await)
    .await
    .unwrap();
}

async fn a_key_whose_request_is_still_running_is_409(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    running_key(&app, "k-1", &trigger_path(&id), 1).await;

    let response = keyed_trigger(&app.address, &id, &app.admin_token, "k-1").await;

    assert_eq!(response.status(), 409);
    assert_eq!(app.detail(&id).await["status"], "PENDING");
}

async fn a_key_left_running_by_a_dead_instance_runs_again_after_its_lease(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let lease = regen_service::IDEMPOTENCY_LEASE.as_secs() as i64;
    running_key(&app, "k-1", &trigger_path(&id), lease + 1).await;

    let retried = answer(keyed_trigger(&app.address, &id, &app.admin_token, "k-1").await).await;
    let again = answer(keyed_trigger(&app.address, &id, &app.admin_token, "k-1").await).await;

    assert_eq!((retried.0, retried.1.as_deref()), (200, None));
    assert_eq!(again, (200, Some("true".into()), retried.2));
    assert_eq!(trigger_rows(&app, &id).await, 1);
}

async fn keys_belong_to_the_credentials_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    app.service
        .create_user(
            &Operator::command_line(),
            "bea",
            regen_domain::Role::Admin,
            crate::helpers::PASSWORD,
        )
        .await
        .unwrap();
    let bea = app
        .service
        .create_api_token(&Operator::command_line(), "bea", TokenRequest::default())
        .await
        .unwrap()
        .token;
    let id = app.insert_job(JobStatus::Pending).await;

    let ada = answer(keyed_trigger(&app.address, &id, &app.admin_token, "shared").await).await;
    let bea = answer(keyed_trigger(&app.address, &id, &bea, "shared").await).await;

    assert_eq!(ada.0, 200);
    assert_eq!((bea.0, bea.1), (409, None), "bea's own request ran");
}

async fn invalid_keys_are_400_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let before = app.snapshot().await;

    for key in [
        reqwest::header::HeaderValue::from_static(""),
        reqwest::header::HeaderValue::from_str(&"k".repeat(256)).unwrap(),
        reqwest::header::HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        reqwest::header::HeaderValue::from_bytes(b"tab\there").unwrap(),
    ] {
        for request in [
            client().post(app.url(&trigger_path(&id))),
            client().post(app.url(BULK)).json(&json!({"ids": [id]})),
        ] {
            let response = request
                .bearer_auth(&app.admin_token)
                .header("Idempotency-Key", key.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{key:?}");
        }
    }
    assert_eq!(app.snapshot().await, before);
    let keys: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap();
    assert_eq!(keys.0, 0);
}

async fn a_read_scope_token_with_a_key_gets_403_and_writes_no_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let reader = app.read_token("ada").await;

    let trigger = keyed_trigger(&app.address, &id, &reader, "k-1").await;
    let bulk = keyed_bulk(&app.address, &json!({"ids": [id]}), &reader, "k-2").await;

    assert_eq!(
        (trigger.status().as_u16(), bulk.status().as_u16()),
        (403, 403)
    );
    let keys: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM idempotency_keys")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap();
    assert_eq!(keys.0, 0);
    assert_eq!(app.detail(&id).await["status"], "PENDING");
}

/// 16 requests with one key and one body, over two instances at once: one
/// runs, the others see it running (409) or replay its answer.
async fn concurrent_requests_with_one_key_on_two_instances_run_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    let addresses = [app.address.clone(), second];
    let ids = [
        app.insert_job(JobStatus::Pending).await,
        app.insert_job(JobStatus::Pending).await,
    ];
    let body = json!({ "ids": ids });
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let (base, body, token) = (
                addresses[n % 2].clone(),
                body.clone(),
                app.admin_token.clone(),
            );
            tokio::spawn(
                async move { answer(keyed_bulk(&base, &body, &token, "race").await).await },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }

    let ran: Vec<_> = answers
        .iter()
        .filter(|a| a.0 == 200 && a.1.is_none())
        .collect();
    assert_eq!(ran.len(), 1, "{answers:?}");
    for other in &answers {
        match other {
            (200, None, _) => {}
            (200, Some(replayed), body) => {
                assert_eq!(replayed, "true");
                assert_eq!(body, &ran[0].2);
            }
            (409, None, _) => {}
            unexpected => panic!("unexpected {unexpected:?}"),
        }
    }
    for id in &ids {
        assert_eq!(trigger_rows(&app, id).await, 1);
    }
}
