//! The REST contract: list, detail, trigger, errors, races, OpenAPI.

use regen_domain::JobStatus;
use regen_storage::testing::break_audit_inserts;
use regen_storage::Backend;
use serde_json::Value;

use crate::helpers::{client, spawn_app, spawn_second_instance};

both_backends!(
    admin_can_list_read_and_trigger,
    listing_is_newest_first_without_payloads,
    following_next_links_visits_every_job_once_while_jobs_are_inserted,
    list_filters_use_the_query_parameters,
    invalid_list_parameters_are_400_problems,
    unknown_and_malformed_ids_are_404,
    detail_embeds_the_stored_json_verbatim_with_audit_events,
    triggering_twice_is_a_conflict_naming_the_current_status,
    completed_failed_and_running_jobs_cannot_be_triggered,
    a_trigger_changes_only_the_status_and_adds_one_audit_row,
    an_audit_failure_still_triggers_and_is_journaled,
    a_trigger_body_over_16_kib_is_413,
    unknown_api_paths_are_404_json,
    a_64_way_trigger_race_has_exactly_one_winner,
    every_response_carries_a_request_id,
    an_audit_row_carries_the_servers_request_id_never_the_clients,
    any_body_over_64_kib_is_a_413_problem_with_a_request_id,
);

async fn any_body_over_64_kib_is_a_413_problem_with_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/login",
        "/rpc/trigger_job",
        "/api/admin/regeneration-jobs/x/trigger",
    ] {
        let response = client()
            .post(app.url(path))
            .bearer_auth(&app.admin_token)
            .body(vec![b'x'; 64 * 1024 + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        assert!(response.headers().contains_key("x-request-id"), "{path}");
    }
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

async fn admin_can_list_read_and_trigger(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let token = Some(app.admin_token.as_str());

    let list = app.get("/api/admin/regeneration-jobs", token).await;
    assert_eq!(list.status(), 200);
    assert_eq!(json(list).await[0]["id"], id);

    let detail = app
        .get(&format!("/api/admin/regeneration-jobs/{id}"), token)
        .await;
    assert_eq!(detail.status(), 200);
    assert_eq!(json(detail).await["status"], "PENDING");

    let triggered = app.trigger(&id, token).await;
    assert_eq!(triggered.status(), 200);
    let body = json(triggered).await;
    assert_eq!(body["status"], "RUNNING");
    assert_eq!(body["id"], id);
    assert!(body.get("instructionJson").is_none());
}

async fn listing_is_newest_first_without_payloads(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.insert_job(JobStatus::Pending).await);
    }

    let listed = app.listed_ids("/api/admin/regeneration-jobs").await;
    let body = json(
        app.get("/api/admin/regeneration-jobs", Some(&app.admin_token))
            .await,
    )
    .await;

    ids.reverse();
    assert_eq!(listed, ids);
    let keys: Vec<&String> = body[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "status",
            "targetType",
            "targetId",
            "createdAt",
            "createdBy"
        ]
    );
}

fn next_link(response: &reqwest::Response) -> Option<String> {
    let header = response.headers().get("link")?.to_str().ok()?.to_owned();
    header
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| {
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        })
}

async fn following_next_links_visits_every_job_once_while_jobs_are_inserted(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut expected = Vec::new();
    for _ in 0..12 {
        expected.push(app.insert_job(JobStatus::Pending).await);
    }
    expected.reverse();

    let mut seen = Vec::new();
    let mut next = Some("/api/admin/regeneration-jobs?limit=5".to_owned());
    while let Some(path) = next {
        let response = app.get(&path, Some(&app.admin_token)).await;
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        for job in json(response).await.as_array().unwrap() {
            seen.push(job["id"].as_str().unwrap().to_owned());
        }
        app.insert_job(JobStatus::Pending).await;
    }

    assert_eq!(seen, expected);
}

async fn list_filters_use_the_query_parameters(backend: Backend) {
    let app = spawn_app(backend).await;
    let pending = app.insert_job(JobStatus::Pending).await;
    let failed = app.insert_job(JobStatus::Failed).await;
    app.insert_job(JobStatus::Completed).await;

    let ids = app
        .listed_ids("/api/admin/regeneration-jobs?status=PENDING&status=FAILED&targetType=insight&targetId=ins-1")
        .await;

    assert_eq!(ids, [failed, pending]);
    let none = json(
        app.get(
            "/api/admin/regeneration-jobs?targetType=other",
            Some(&app.admin_token),
        )
        .await,
    )
    .await;
    assert_eq!(none, serde_json::json!([]));
}

async fn invalid_list_parameters_are_400_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "limit=0",
        "limit=501",
        "limit=x",
        "status=DONE",
        "cursor=garbage",
        "sort=asc",
    ] {
        let response = app
            .get(
                &format!("/api/admin/regeneration-jobs?{query}"),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body = json(response).await;
        assert_eq!(body["status"], 400);
        assert!(body["detail"].as_str().unwrap().len() > 5);
    }
}

async fn unknown_and_malformed_ids_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let unknown = "01934b6e-0000-7000-8000-000000000000";
    for id in [unknown, "not-a-uuid", "1"] {
        let detail = app
            .get(
                &format!("/api/admin/regeneration-jobs/{id}"),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(detail.status(), 404, "{id}");
        assert_eq!(detail.headers()["content-type"], "application/problem+json");
        assert_eq!(
            app.trigger(id, Some(&app.admin_token)).await.status(),
            404,
            "{id}"
        );
    }
}

async fn detail_embeds_the_stored_json_verbatim_with_audit_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    app.trigger(&id, Some(&app.admin_token)).await;

    let text = app
        .get(
            &format!("/api/admin/regeneration-jobs/{id}"),
            Some(&app.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();

    assert!(
        text.contains(
            r#""instructionJson":{"prompt":"rewrite","big":123456789012345678901234567890}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#""outputRef":null"#));
    let body: Value = serde_json::from_str(&text).unwrap();
    let events = body["auditEvents"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["eventType"], "REGEN_JOB_CREATED");
    assert_eq!(events[1]["eventType"], "REGEN_JOB_TRIGGERED");
    let keys: Vec<&String> = events[1].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "eventType",
            "actor",
            "actorName",
            "occurredAt",
            "requestId"
        ]
    );
}

async fn triggering_twice_is_a_conflict_naming_the_current_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    assert_eq!(app.trigger(&id, Some(&app.admin_token)).await.status(), 200);

    let second = app.trigger(&id, Some(&app.admin_token)).await;

    assert_eq!(second.status(), 409);
    assert_eq!(second.headers()["content-type"], "application/problem+json");
    let body = json(second).await;
    assert_eq!(body["currentStatus"], "RUNNING");
    assert!(body["detail"].as_str().unwrap().contains("RUNNING"));
}

async fn completed_failed_and_running_jobs_cannot_be_triggered(backend: Backend) {
    let app = spawn_app(backend).await;
    for status in [JobStatus::Completed, JobStatus::Failed, JobStatus::Running] {
        let id = app.insert_job(status).await;
        let before = app.snapshot().await;

        let response = app.trigger(&id, Some(&app.admin_token)).await;

        assert_eq!(response.status(), 409, "{status}");
        assert_eq!(json(response).await["currentStatus"], status.as_str());
        assert_eq!(app.snapshot().await, before);
    }
}

async fn a_trigger_changes_only_the_status_and_adds_one_audit_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    app.insert_job(JobStatus::Pending).await;
    let before = app.snapshot().await;

    let response = app.trigger(&id, Some(&app.admin_token)).await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.status(), 200);

    let after = app.snapshot().await;
    let removed: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
    let added: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(added.len(), 2, "{added:?}");
    assert_eq!(
        removed[0].replacen(" | PENDING | ", " | RUNNING | ", 1),
        *added
            .iter()
            .find(|r| r.starts_with("regeneration_jobs"))
            .unwrap()
            .as_str()
    );
    let audit = added
        .iter()
        .find(|r| r.starts_with("audit_events"))
        .unwrap();
    let admin = app
        .store()
        .await
        .find_user_by_name("ada")
        .await
        .unwrap()
        .unwrap();
    assert!(audit.contains("REGEN_JOB_TRIGGERED"));
    assert!(audit.contains(&id));
    assert!(
        audit.contains(&admin.id),
        "actor is the admin's user id: {audit}"
    );
    assert!(audit.contains(&request_id));
}

async fn an_audit_failure_still_triggers_and_is_journaled(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    break_audit_inserts(&app.database).await;

    let response = app.trigger(&id, Some(&app.admin_token)).await;

    assert_eq!(response.status(), 200);
    assert_eq!(json(response).await["status"], "RUNNING");
    assert_eq!(app.service.metrics().audit_write_failures(), 1);
    let journal = std::fs::read_to_string(&app.journal).unwrap();
    assert_eq!(journal.lines().count(), 1);
    assert!(journal.contains(&id) && journal.contains("REGEN_JOB_TRIGGERED"));
}

async fn a_trigger_body_over_16_kib_is_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;

    let response = client()
        .post(app.url(&format!("/api/admin/regeneration-jobs/{id}/trigger")))
        .bearer_auth(&app.admin_token)
        .body(vec![b'x'; 16 * 1024 + 1])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let detail = app.detail(&id).await;
    assert_eq!(detail["status"], "PENDING");
    let small = client()
        .post(app.url(&format!("/api/admin/regeneration-jobs/{id}/trigger")))
        .bearer_auth(&app.admin_token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
}

async fn unknown_api_paths_are_404_json(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/api/nope",
        "/api/admin/regeneration-jobs/x/y/z",
        "/api/admin",
    ] {
        let response = app.get(path, Some(&app.admin_token)).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
}

async fn race(addresses: &[String], id: &str, token: &str, n: usize) -> (usize, usize, usize) {
    let client = client();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let url = format!(
                "{}/api/admin/regeneration-jobs/{id}/trigger",
                addresses[i % addresses.len()]
            );
            let request = client.post(url).bearer_auth(token);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let (mut ok, mut conflict, mut other) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            200 => ok += 1,
            409 => conflict += 1,
            _ => other += 1,
        }
    }
    (ok, conflict, other)
}

async fn a_64_way_trigger_race_has_exactly_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut addresses = vec![app.address.clone()];
    let mut _second = None;
    if backend == Backend::Postgres {
        let (address, stop) = spawn_second_instance(&app).await;
        addresses.push(address);
        _second = Some(stop);
    }
    for _round in 0..10 {
        let id = app.insert_job(JobStatus::Pending).await;

        let outcome = race(&addresses, &id, &app.admin_token, 64).await;

        assert_eq!(outcome, (1, 63, 0));
        let detail = app.detail(&id).await;
        let triggers = detail["auditEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["eventType"] == "REGEN_JOB_TRIGGERED")
            .count();
        assert_eq!(triggers, 1);
    }
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/api/admin/regeneration-jobs",
        "/api/nope",
        "/healthz",
        "/login",
    ] {
        let response = app.get(path, None).await;
        assert!(response.headers().contains_key("x-request-id"), "{path}");
    }
}

/// A client's `X-Request-Id` (here the id of an earlier request, which would
/// tie this trigger to that one) is only logged: the audit row and the
/// response carry an id the server made.
async fn an_audit_row_carries_the_servers_request_id_never_the_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let earlier = app.get("/healthz", None).await.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let response = client()
        .post(app.url(&format!("/api/admin/regeneration-jobs/{id}/trigger")))
        .bearer_auth(&app.admin_token)
        .header("x-request-id", &earlier)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answered = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let audit = format!("/api/admin/audit-events?eventType=REGEN_JOB_TRIGGERED&jobId={id}");
    let triggered = json(app.get(&audit, Some(&app.admin_token)).await).await;
    let audited = &triggered[0]["requestId"];
    assert_ne!(answered, earlier, "the response echoes the client's id");
    assert_eq!(
        *audited,
        answered.as_str(),
        "the audit row has the answer's id"
    );
}

/// Derived from the served document: every operation it names is routed,
/// and every other method on its path is a 405 whose `Allow` lists exactly
/// the documented ones.
#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = json(app.get("/api/openapi.json", Some(&app.admin_token)).await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let base = doc["servers"][0]["url"].as_str().unwrap();
    let unknown_job = "01934b6e-0000-7000-8000-000000000000";
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 10, "{:?}", paths.keys());
    for (path, item) in paths {
        let url = format!("{base}{}", path.replace("{jobId}", unknown_job));
        let documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        // An export needs its format to answer 200.
        let routed = if path.ends_with("/export") {
            format!("{url}?format=csv")
        } else {
            url.clone()
        };
        for method in &documented {
            let mut request = client()
                .request(method.parse().unwrap(), app.url(&routed))
                .bearer_auth(&app.admin_token);
            // A bulk trigger needs its ids to answer 200.
            if path.ends_with("/bulk-trigger") {
                request = request.json(&serde_json::json!({ "ids": [unknown_job] }));
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            assert!(
                status.is_success() || body.contains("No regeneration job has that id"),
                "{method} {url} is routed: {status} {body}"
            );
        }
        let mut allow = documented.clone();
        if allow.contains(&"GET".to_owned()) {
            allow.push("HEAD".to_owned());
        }
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            if allow.iter().any(|m| m == method) {
                continue;
            }
            let response = client()
                .request(method.parse().unwrap(), app.url(&url))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {url}");
            assert_eq!(
                response.headers()["allow"],
                allow.join(", ").as_str(),
                "{method} {url}"
            );
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
        }
    }
}
