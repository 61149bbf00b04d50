//! The audit log across jobs and the streamed exports, on both backends.

use std::collections::HashSet;

use regen_domain::{AuditEvent, AuditEventType, JobStatus, JsonText, NewJob, Timestamp};
use regen_service::{ExportKind, ExportOutcome, Operator};
use regen_storage::Backend;
use sqlx::Row;

use crate::helpers::{client, job, spawn_app, spawn_app_with, Options, TestApp};

both_backends!(
    audit_events_are_newest_first_with_actor_names,
    audit_filters_combine,
    an_audit_walk_sees_each_event_once_while_triggers_run,
    bad_audit_parameters_get_400_problems,
    the_audit_routes_answer_each_role_and_method_as_they_should,
    the_audit_page_renders_filters_links_and_names,
    the_detail_page_names_actors_and_links_to_the_audit_log,
    job_exports_have_exactly_the_filtered_rows_in_both_formats,
    exports_defuse_formulas_and_keep_payload_bytes,
    audit_exports_match_the_audit_api,
    an_export_that_fails_mid_stream_ends_with_an_error,
    bad_export_requests_get_400_and_exports_are_counted,
);

const AUDIT: &str = "/api/admin/audit-events";

async fn insert(app: &TestApp, target_id: &str, created_by: &str) -> String {
    app.service
        .create_job(&Operator::command_line(), job(target_id, created_by, "{}"))
        .await
        .unwrap()
        .id
        .to_string()
}

async fn events(app: &TestApp, query: &str) -> Vec<serde_json::Value> {
    let response = app
        .get(&format!("{AUDIT}?{query}"), Some(&app.admin_token))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

fn ids(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn next_link(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get("link")?.to_str().unwrap().to_owned();
    link.split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| {
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        })
}

async fn ada_id(app: &TestApp) -> String {
    app.service
        .find_user(&Operator::command_line(), "ada")
        .await
        .unwrap()
        .unwrap()
        .user_id
}

async fn audit_events_are_newest_first_with_actor_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = insert(&app, "a", "editor-bot").await;
    let second = insert(&app, "b", "editor-bot").await;
    assert_eq!(
        app.trigger(&first, Some(&app.admin_token)).await.status(),
        200
    );

    let all = events(&app, "").await;
    assert_eq!(all.len(), 3);
    let order: Vec<(String, String)> = all
        .iter()
        .map(|e| {
            (
                e["occurredAt"].as_str().unwrap().to_owned(),
                e["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted, "occurredAt DESC, id DESC");

    let triggered = &all[0];
    assert_eq!(triggered["eventType"], "REGEN_JOB_TRIGGERED");
    assert_eq!(triggered["jobId"], first);
    assert_eq!(triggered["actor"], ada_id(&app).await);
    assert_eq!(triggered["actorName"], "ada");
    assert!(triggered["requestId"].is_string());
    let keys: Vec<&str> = triggered
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "eventType",
            "jobId",
            "actor",
            "actorName",
            "occurredAt",
            "requestId",
            "details"
        ]
    );
    let created = all.iter().find(|e| e["jobId"] == second).unwrap();
    assert_eq!(created["actor"], "editor-bot");
    assert_eq!(
        created["actorName"], "editor-bot",
        "a producer is its own name"
    );
}

async fn audit_filters_combine(backend: Backend) {
    let app = spawn_app(backend).await;
    let by_bot = insert(&app, "a", "editor-bot").await;
    let by_cli = insert(&app, "b", "cli").await;
    app.trigger(&by_bot, Some(&app.admin_token)).await;
    app.trigger(&by_cli, Some(&app.admin_token)).await;
    let ada = ada_id(&app).await;

    let count = |q: &'static str| {
        let app = &app;
        async move { events(app, q).await.len() }
    };
    assert_eq!(count("eventType=REGEN_JOB_TRIGGERED").await, 2);
    assert_eq!(
        count("eventType=REGEN_JOB_TRIGGERED&eventType=REGEN_JOB_CREATED").await,
        4
    );
    assert_eq!(count("actorName=ada").await, 2);
    assert_eq!(count("actorName=editor-bot").await, 1);
    assert_eq!(count("actorName=nobody").await, 0);
    assert_eq!(events(&app, &format!("actor={ada}")).await.len(), 2);
    assert_eq!(
        events(&app, &format!("actor={ada}&actorName=ada"))
            .await
            .len(),
        2
    );
    assert_eq!(
        events(&app, &format!("actor={ada}&actorName=editor-bot"))
            .await
            .len(),
        0
    );
    let one_job = events(&app, &format!("jobId={by_bot}")).await;
    assert_eq!(one_job.len(), 2);
    assert!(one_job.iter().all(|e| e["jobId"] == by_bot));
    let triggered_by_bot_job = events(
        &app,
        &format!("jobId={by_bot}&eventType=REGEN_JOB_TRIGGERED&actorName=ada"),
    )
    .await;
    assert_eq!(triggered_by_bot_job.len(), 1);

    // Time windows are half-open: [from, to).
    let newest = events(&app, "limit=1").await.remove(0);
    let at = newest["occurredAt"].as_str().unwrap();
    let from = events(&app, &format!("occurredFrom={at}")).await;
    assert!(from.iter().any(|e| e["id"] == newest["id"]));
    let before = events(&app, &format!("occurredTo={at}")).await;
    assert!(!before.iter().any(|e| e["id"] == newest["id"]));
    assert_eq!(from.len() + before.len(), 4);
    // Empty form fields are no filter.
    assert_eq!(
        count("actor=&actorName=&jobId=&occurredFrom=&occurredTo=").await,
        4
    );
}

async fn an_audit_walk_sees_each_event_once_while_triggers_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut pending = Vec::new();
    for n in 0..40 {
        pending.push(insert(&app, &format!("t{n}"), "editor-bot").await);
    }
    let before: HashSet<String> = ids(&events(&app, "limit=500").await).into_iter().collect();
    let triggers = {
        let (address, token) = (app.address.clone(), app.admin_token.clone());
        let pending = pending.clone();
        tokio::spawn(async move {
            for id in pending {
                client()
                    .post(format!(
                        "{address}/api/admin/regeneration-jobs/{id}/trigger"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    let mut path = format!("{AUDIT}?limit=7");
    loop {
        let response = app.get(&path, Some(&app.admin_token)).await;
        assert_eq!(response.status(), 200);
        let next = next_link(&response);
        let page: Vec<serde_json::Value> = response.json().await.unwrap();
        seen.extend(ids(&page));
        match next {
            Some(next) => path = next,
            None => break,
        }
    }
    triggers.await.unwrap();
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    // Events committed before the walk began are all seen; newer ones are
    // in front of the walk and never interleave.
    assert!(before.is_subset(&unique));
    let after = events(&app, "limit=500").await;
    assert_eq!(after.len(), 80);
}

async fn bad_audit_parameters_get_400_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "eventType=REGEN_JOB_DELETED",
        "eventType=",
        "jobId=not-a-uuid",
        "occurredFrom=yesterday",
        "occurredTo=2026-13-01T00:00:00Z",
        "limit=0",
        "limit=501",
        "limit=",
        "cursor=nope",
        "cursor=",
        "unknown=1",
        "actor=a&actor=b",
    ] {
        let response = app
            .get(&format!("{AUDIT}?{query}"), Some(&app.admin_token))
            .await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
    }
    let long = "x".repeat(201);
    let response = app
        .get(&format!("{AUDIT}?actor={long}"), Some(&app.admin_token))
        .await;
    assert_eq!(response.status(), 400);
}

async fn the_audit_routes_answer_each_role_and_method_as_they_should(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        AUDIT,
        "/api/admin/audit-events/export?format=csv",
        "/api/admin/regeneration-jobs/export?format=csv",
        "/admin/audit",
    ] {
        let anonymous = app.get(path, None).await.status().as_u16();
        let member = app
            .get(path, Some(&app.member_token))
            .await
            .status()
            .as_u16();
        let admin = app
            .get(path, Some(&app.admin_token))
            .await
            .status()
            .as_u16();
        let expected_anonymous = if path.starts_with("/api") { 401 } else { 303 };
        assert_eq!(
            (anonymous, member, admin),
            (expected_anonymous, 403, 200),
            "{path}"
        );
        if path.starts_with("/api") {
            let head = client()
                .head(app.url(path))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), 200, "HEAD {path}");
            for method in [
                reqwest::Method::POST,
                reqwest::Method::PUT,
                reqwest::Method::DELETE,
            ] {
                let response = client()
                    .request(method.clone(), app.url(path))
                    .bearer_auth(&app.admin_token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 405, "{method} {path}");
                assert_eq!(response.headers()["allow"], "GET, HEAD", "{method} {path}");
            }
        }
    }
    let document: serde_json::Value = app
        .get("/api/openapi.json", Some(&app.admin_token))
        .await
        .json()
        .await
        .unwrap();
    for path in [
        "/admin/audit-events",
        "/admin/audit-events/export",
        "/admin/regeneration-jobs/export",
    ] {
        assert!(
            document["paths"][path]["get"].is_object(),
            "{path} documented"
        );
    }
}

async fn page(app: &TestApp, browser: &reqwest::Client, path: &str) -> String {
    let response = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn the_audit_page_renders_filters_links_and_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = insert(&app, "a", "editor-bot").await;
    app.trigger(&id, Some(&app.admin_token)).await;
    let ada = ada_id(&app).await;
    let browser = app.browser_login("ada").await;

    let html = page(&app, &browser, "/admin/audit").await;
    for name in [
        "eventType",
        "actorName",
        "actor",
        "jobId",
        "occurredFrom",
        "occurredTo",
    ] {
        assert!(
            html.contains(&format!("name=\"{name}\"")),
            "{name} field: {html}"
        );
    }
    assert!(html.contains("Last 24 hours"));
    assert!(html.contains(&format!("href=\"/admin/regeneration-jobs/{id}\"")));
    assert!(
        html.contains(&format!("href=\"/admin/audit?actor={ada}\"")),
        "actor link"
    );
    assert!(
        html.contains(&format!("title=\"{ada}\" class=\"actor\">ada</a>")),
        "name shown, id in title: {html}"
    );
    assert!(html.contains("href=\"/admin/audit?actor=editor-bot\""));
    assert!(html.contains("href=\"/api/admin/audit-events/export?format=csv\""));
    assert!(
        html.contains("href=\"/admin/audit\""),
        "linked from the header"
    );
    assert!(
        !html.contains("type=\"module\"") && !html.contains(".wasm"),
        "no WASM"
    );

    let filtered = page(&app, &browser, &format!("/admin/audit?actor={ada}")).await;
    assert_eq!(
        filtered
            .matches("<td><span class=\"badge badge-running\">")
            .count(),
        1,
        "{filtered}"
    );
    assert!(!filtered.contains("<td><span class=\"badge badge-pending\">"));
    assert!(filtered.contains(&format!(
        "href=\"/api/admin/audit-events/export?format=ndjson&amp;actor={ada}\""
    )));

    let bad = browser
        .get(app.url("/admin/audit?occurredFrom=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("id=\"occurredFrom-error\""));

    let jobs = page(&app, &browser, "/admin/regeneration-jobs?status=RUNNING").await;
    assert!(
        jobs.contains("href=\"/api/admin/regeneration-jobs/export?format=csv&amp;status=RUNNING\"")
    );
}

async fn the_detail_page_names_actors_and_links_to_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = insert(&app, "a", "editor-bot").await;
    app.trigger(&id, Some(&app.admin_token)).await;
    let ada = ada_id(&app).await;
    let browser = app.browser_login("ada").await;
    let html = page(&app, &browser, &format!("/admin/regeneration-jobs/{id}")).await;
    assert!(html.contains(&format!("title=\"{ada}\">ada</a>")), "{html}");
    assert!(
        !html.contains(&format!(">{ada}<")),
        "the id is not shown as text"
    );
    assert!(html.contains(&format!("href=\"/admin/audit?jobId={id}\"")));
    let detail = app.detail(&id).await;
    assert_eq!(detail["auditEvents"][1]["actorName"], "ada");
}

async fn export(app: &TestApp, query: &str) -> reqwest::Response {
    app.get(
        &format!("/api/admin/regeneration-jobs/export?{query}"),
        Some(&app.admin_token),
    )
    .await
}

fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn job_exports_have_exactly_the_filtered_rows_in_both_formats(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let base = Timestamp::from_millis(1_790_000_000_000).unwrap();
    let jobs: Vec<(NewJob, Timestamp)> = (0..1234)
        .map(|n| {
            let mut new = job(
                &format!("t{n}"),
                if n % 3 == 0 { "bot-a" } else { "bot-b" },
                "{}",
            );
            new.status = [JobStatus::Pending, JobStatus::Failed][n % 2];
            (
                new,
                Timestamp::from_millis(base.millis() + n as i64 * 1000).unwrap(),
            )
        })
        .collect();
    store.insert_jobs(jobs).await.unwrap();

    for (query, expected) in [
        ("", 1234),
        ("status=FAILED", 617),
        ("createdBy=bot-a", 412),
        ("status=PENDING&createdBy=bot-a", 206),
    ] {
        let csv = export(&app, &format!("format=csv&{query}")).await;
        assert_eq!(csv.status(), 200, "{query}");
        assert_eq!(
            csv.headers()["content-type"],
            "text/csv; charset=utf-8; header=present"
        );
        let disposition = csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"regeneration-jobs_"),
            "{disposition}"
        );
        if query.is_empty() {
            assert!(disposition.contains("_all_"), "{disposition}");
        } else {
            assert!(
                disposition.contains(&query.replace('=', "-").replace('&', "_")),
                "{disposition}"
            );
        }
        let body = csv.text().await.unwrap();
        assert!(body.ends_with("\r\n"));
        let rows = csv_rows(&body);
        assert_eq!(
            rows[0],
            [
                "id",
                "status",
                "targetType",
                "targetId",
                "createdAt",
                "createdBy"
            ]
        );
        assert_eq!(rows.len() - 1, expected, "{query}");
        let unique: HashSet<&String> = rows[1..].iter().map(|r| &r[0]).collect();
        assert_eq!(unique.len(), expected);

        let ndjson = export(&app, &format!("format=ndjson&{query}")).await;
        assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
        let body = ndjson.text().await.unwrap();
        let lines: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), expected, "{query}");
        let listed: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        let exported: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(listed, exported, "the same rows in the same order");
    }
}

async fn exports_defuse_formulas_and_keep_payload_bytes(backend: Backend) {
    let app = spawn_app(backend).await;
    let instruction =
        r#"{"z":1,"a":123456789012345678901234567890.10,"u":"\u00e9 ü, \"q\"","n":[1.0e3]}"#;
    let evil = app
        .service
        .create_job(
            &Operator::command_line(),
            job(
                "=HYPERLINK(\"http://evil.example\",\"x\")",
                "@bot",
                instruction,
            ),
        )
        .await
        .unwrap();
    let csv = export(&app, "format=csv").await.text().await.unwrap();
    let rows = csv_rows(&csv);
    // Compressed on the way, as browsers ask for it, it still ends cleanly.
    for encoding in ["gzip"] {
        let compressed = client()
            .get(app.url("/api/admin/regeneration-jobs/export?format=ndjson"))
            .bearer_auth(&app.admin_token)
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.headers()["content-encoding"], encoding);
        assert!(!compressed.bytes().await.unwrap().is_empty(), "{encoding}");
    }
    assert_eq!(rows[1][3], "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert_eq!(rows[1][5], "'@bot");

    let ndjson = export(&app, "format=ndjson").await.text().await.unwrap();
    let line = ndjson.lines().next().unwrap();
    assert!(
        line.contains(&format!("\"instructionJson\":{instruction},")),
        "payload embedded byte for byte: {line}"
    );
    let stored: String =
        sqlx::query("SELECT instruction_json FROM regeneration_jobs WHERE id = $1")
            .bind(evil.id.to_string())
            .fetch_one(&app.database.raw_pool().await)
            .await
            .unwrap()
            .get(0);
    assert_eq!(stored, instruction);
    // The same line as the detail API gives, minus its audit trail.
    let detail = app
        .get(
            &format!("/api/admin/regeneration-jobs/{}", evil.id),
            Some(&app.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();
    let detail_prefix = detail.split(",\"auditEvents\"").next().unwrap();
    assert_eq!(format!("{detail_prefix}}}"), line);
}

async fn audit_exports_match_the_audit_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let id = insert(&app, "a", "editor-bot").await;
    let details = r#"{"reason":"=cmd|' /C calc'!A0","n":1.50}"#;
    let history: Vec<AuditEvent> = (0..620)
        .map(|n| AuditEvent {
            id: uuid::Uuid::now_v7(),
            event_type: AuditEventType::Failed,
            job_id: id.parse().unwrap(),
            actor: "executor".into(),
            occurred_at: Timestamp::from_millis(1_790_000_000_000 + n).unwrap(),
            request_id: Some(format!("req-{n}")),
            details: Some(JsonText::parse(details).unwrap()),
        })
        .collect();
    store.insert_audit_events(&history).await.unwrap();

    let api = events(&app, "eventType=REGEN_JOB_FAILED&limit=500").await;
    let ndjson = app
        .get(
            "/api/admin/audit-events/export?format=ndjson&eventType=REGEN_JOB_FAILED",
            Some(&app.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 620);
    assert_eq!(&lines[..500], &api[..], "lines are the API's objects");
    assert!(ndjson
        .lines()
        .next()
        .unwrap()
        .contains(&format!("\"details\":{details}")));

    let csv = app
        .get(
            "/api/admin/audit-events/export?format=csv&actorName=executor",
            Some(&app.admin_token),
        )
        .await;
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("audit-events_actorName-executor_"));
    let rows = csv_rows(&csv.text().await.unwrap());
    assert_eq!(
        rows[0],
        [
            "id",
            "eventType",
            "jobId",
            "actor",
            "actorName",
            "occurredAt",
            "requestId",
            "details"
        ]
    );
    assert_eq!(rows.len() - 1, 620);
    assert_eq!(
        rows[1][7], details,
        "details do not start with a formula character"
    );
}

async fn an_export_that_fails_mid_stream_ends_with_an_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let id = insert(&app, "a", "editor-bot").await;
    // The failure is in the data, not in a race: an export reads one page
    // (500 events, newest first) per chunk, and the oldest event, which
    // only the second page reaches, has an id that is no UUID (the schema
    // checks its length only), so reading that page always fails. The
    // response has started (200, chunked) by then, and the second page can
    // never be written, however fast the server and however large the
    // socket buffers: no timing can let the file end cleanly.
    let history: Vec<AuditEvent> = (0..600)
        .map(|n| AuditEvent {
            id: uuid::Uuid::now_v7(),
            event_type: AuditEventType::Completed,
            job_id: id.parse().unwrap(),
            actor: "executor".into(),
            occurred_at: Timestamp::from_millis(1_790_000_000_000 + n).unwrap(),
            request_id: None,
            details: None,
        })
        .collect();
    store.insert_audit_events(&history).await.unwrap();
    sqlx::query(
        "INSERT INTO audit_events (id, event_type, job_id, actor, occurred_at) \
         VALUES ('0000000-not-a-uuid-0000-000000000000', 'REGEN_JOB_COMPLETED', $1, 'executor', \
         '2020-01-01T00:00:00.000Z')",
    )
    .bind(&id)
    .execute(&app.database.raw_pool().await)
    .await
    .unwrap();
    let mut response = app
        .get(
            "/api/admin/audit-events/export?format=csv",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(response.status(), 200);
    let mut received = Vec::new();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    // How much of the first page gets through before the connection is cut
    // depends on the socket buffers; that nothing after it can is what the
    // data guarantees.
    let lines = received.windows(2).filter(|pair| pair == b"\r\n").count();
    assert!(
        lines <= 1 + 500,
        "only the header and the first page: {lines}"
    );
    assert!(
        ended.is_err(),
        "a short file must not look complete ({lines} lines)"
    );
    // The server wrote the first page, then failed: the failure came
    // mid-stream, not before it. (It counts an export before it ends the
    // body, so the figures are in by now.)
    let metrics = app.service.metrics();
    let failed = metrics
        .exports()
        .into_iter()
        .find(|e| e.kind == ExportKind::AuditEvents && e.outcome == ExportOutcome::Failed)
        .unwrap();
    assert_eq!(failed.count, 1, "counted as a failed export");
    assert_eq!(
        metrics.exported_rows(),
        [(ExportKind::Jobs, 0), (ExportKind::AuditEvents, 500)],
        "the first page was written before the failure"
    );
}

async fn bad_export_requests_get_400_and_exports_are_counted(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            metrics: true,
            ..Options::default()
        },
    )
    .await;
    insert(&app, "a", "editor-bot").await;
    for query in [
        "",
        "format=xlsx",
        "format=",
        "format=csv&format=ndjson",
        "format=csv&limit=10",
        "format=csv&cursor=o1.0192f0c17a3b7c4d8e5f0123456789ab",
        "format=csv&status=DONE",
        "format=csv&nonsense=1",
    ] {
        let response = export(&app, query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let response = app
        .get(
            "/api/admin/audit-events/export?format=pdf",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(response.status(), 400);

    export(&app, "format=csv").await.text().await.unwrap();
    app.get(
        "/api/admin/audit-events/export?format=ndjson",
        Some(&app.admin_token),
    )
    .await
    .text()
    .await
    .unwrap();
    let metrics = app.private_metrics().await;
    let sample = |series: &str| crate::helpers::sample(&metrics, series);
    assert_eq!(
        sample("regen_exports_total{kind=\"jobs\",format=\"csv\",outcome=\"completed\"}"),
        1.0
    );
    assert_eq!(
        sample(
            "regen_exports_total{kind=\"audit_events\",format=\"ndjson\",outcome=\"completed\"}"
        ),
        1.0
    );
    assert_eq!(sample("regen_export_rows_total{kind=\"jobs\"}"), 1.0);
    assert_eq!(
        sample("regen_export_rows_total{kind=\"audit_events\"}"),
        1.0
    );
}
