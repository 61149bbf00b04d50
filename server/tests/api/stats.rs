//! Exact counts: the stats API, the list page's counts, the gauges and the
//! CLI that checks and rebuilds them.

use regen_domain::JobStatus;
use regen_storage::Backend;
use serde_json::Value;
use sqlx::Executor;

use crate::helpers::{client, new_job, sample, spawn_app, spawn_app_with, Options, TestApp};

both_backends!(
    stats_count_every_job_by_status_and_target_type,
    stats_include_jobs_producers_insert_with_their_own_sql,
    stats_stay_exact_after_a_64_way_trigger_race,
    bad_stats_parameters_are_400,
    the_list_page_shows_each_count_as_a_link_and_the_oldest_wait,
    the_job_gauges_move_with_inserts_and_triggers,
    stats_check_passes_then_catches_a_corrupted_counter_until_rebuilt,
);

async fn stats(app: &TestApp, query: &str) -> Value {
    let response = app
        .get(
            &format!("/api/admin/regeneration-jobs/stats{query}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(response.status(), 200, "stats{query}");
    response.json().await.unwrap()
}

async fn insert(app: &TestApp, target_type: &str, status: JobStatus) -> String {
    let job = regen_domain::NewJob {
        target_type: target_type.into(),
        ..new_job(status)
    };
    app.store()
        .await
        .insert_job(job)
        .await
        .unwrap()
        .id
        .to_string()
}

async fn stats_count_every_job_by_status_and_target_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let first_pending = insert(&app, "article", JobStatus::Pending).await;
    insert(&app, "article", JobStatus::Pending).await;
    insert(&app, "article", JobStatus::Failed).await;
    insert(&app, "insight", JobStatus::Completed).await;
    let triggered = insert(&app, "insight", JobStatus::Pending).await;
    assert_eq!(
        app.trigger(&triggered, Some(&app.admin_token))
            .await
            .status(),
        200
    );

    let all = stats(&app, "").await;
    let articles = stats(&app, "?targetType=article").await;

    assert_eq!(all["total"], 5);
    assert_eq!(
        all["byStatus"],
        serde_json::json!({"PENDING": 2, "RUNNING": 1, "COMPLETED": 1, "FAILED": 1})
    );
    assert_eq!(all["byTargetType"][0]["targetType"], "article");
    assert_eq!(all["byTargetType"][0]["total"], 3);
    assert_eq!(all["byTargetType"][1]["byStatus"]["RUNNING"], 1);
    assert_eq!(all["oldestPending"]["id"], first_pending.as_str());
    assert_eq!(articles["total"], 3);
    assert_eq!(articles["byTargetType"].as_array().unwrap().len(), 1);
    assert_eq!(
        stats(&app, "?targetType=none").await["oldestPending"],
        Value::Null
    );
}

async fn stats_include_jobs_producers_insert_with_their_own_sql(backend: Backend) {
    let app = spawn_app(backend).await;
    let pool = app.database.raw_pool().await;
    pool.execute(
        format!(
            "INSERT INTO regeneration_jobs (id, status, target_type, target_id, instruction_json, created_at, created_by) \
             VALUES ('{}', 'PENDING', 'raw', 'r-1', '{{}}', '2026-01-01T00:00:00.000Z', 'producer')",
            uuid::Uuid::now_v7()
        )
        .as_str(),
    )
    .await
    .unwrap();

    let all = stats(&app, "").await;

    assert_eq!(all["byStatus"]["PENDING"], 1);
    assert_eq!(all["byTargetType"][0]["targetType"], "raw");
    assert_eq!(
        all["oldestPending"]["createdAt"],
        "2026-01-01T00:00:00.000Z"
    );
}

async fn stats_stay_exact_after_a_64_way_trigger_race(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let mut racers = Vec::new();
    for _ in 0..64 {
        let request = client()
            .post(app.url(&format!("/api/admin/regeneration-jobs/{id}/trigger")))
            .bearer_auth(&app.admin_token);
        racers.push(tokio::spawn(async move {
            request.send().await.unwrap().status().as_u16()
        }));
    }
    for racer in racers {
        racer.await.unwrap();
    }

    let all = stats(&app, "").await;

    assert_eq!(all["byStatus"]["PENDING"], 0);
    assert_eq!(all["byStatus"]["RUNNING"], 1);
    assert_eq!(all["total"], 1);
}

async fn bad_stats_parameters_are_400(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "?targetType=a&targetType=b",
        "?status=PENDING",
        &format!("?targetType={}", "x".repeat(201)),
        "?targetType=a%00b",
    ] {
        let response = app
            .get(
                &format!("/api/admin/regeneration-jobs/stats{query}"),
                Some(&app.admin_token),
            )
            .await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

async fn the_list_page_shows_each_count_as_a_link_and_the_oldest_wait(backend: Backend) {
    let app = spawn_app(backend).await;
    let oldest = insert(&app, "article", JobStatus::Pending).await;
    for _ in 0..3 {
        insert(&app, "insight", JobStatus::Failed).await;
    }
    let page = |path: &'static str| {
        let app = &app;
        async move {
            app.get(path, Some(&app.admin_token))
                .await
                .text()
                .await
                .unwrap()
        }
    };

    let all = page("/admin/regeneration-jobs").await;
    let insights = page("/admin/regeneration-jobs?targetType=insight").await;
    let by_target_id = page("/admin/regeneration-jobs?targetId=ins-1").await;

    assert!(
        all.contains("href=\"/admin/regeneration-jobs?status=FAILED\""),
        "{all}"
    );
    assert!(all.contains(r#"<span class="count">3</span>"#), "{all}");
    assert!(
        all.contains(&format!("href=\"/admin/regeneration-jobs/{oldest}\"")),
        "{all}"
    );
    assert!(all.contains("Oldest pending"));
    assert!(
        insights
            .contains("href=\"/admin/regeneration-jobs?status=PENDING&amp;targetType=insight\""),
        "other filters are kept: {insights}"
    );
    assert!(
        !insights.contains("Oldest pending"),
        "no insight is PENDING"
    );
    assert!(
        !by_target_id.contains("status-counts"),
        "counts that cannot describe a target-id filter are not shown"
    );
}

async fn the_job_gauges_move_with_inserts_and_triggers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            metrics: true,
            ..Options::default()
        },
    )
    .await;
    let empty = app.private_metrics().await;
    let id = app.insert_job(JobStatus::Pending).await;
    app.insert_job(JobStatus::Pending).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let waiting = app.private_metrics().await;
    app.trigger(&id, Some(&app.admin_token)).await;
    let after = app.private_metrics().await;

    assert_eq!(sample(&empty, "regen_jobs{status=\"PENDING\"}"), 0.0);
    assert_eq!(sample(&empty, "regen_oldest_pending_age_seconds"), 0.0);
    assert_eq!(sample(&waiting, "regen_jobs{status=\"PENDING\"}"), 2.0);
    assert!(sample(&waiting, "regen_oldest_pending_age_seconds") >= 1.0);
    assert_eq!(sample(&after, "regen_jobs{status=\"PENDING\"}"), 1.0);
    assert_eq!(sample(&after, "regen_jobs{status=\"RUNNING\"}"), 1.0);
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .args(args)
        .env("DATABASE_URL", &app.database.url)
        .env("REGEN_AUDIT_FALLBACK_PATH", &app.journal)
        .output()
        .unwrap()
}

async fn stats_check_passes_then_catches_a_corrupted_counter_until_rebuilt(backend: Backend) {
    let app = spawn_app(backend).await;
    insert(&app, "article", JobStatus::Pending).await;
    insert(&app, "article", JobStatus::Failed).await;
    let clean = cli(&app, &["stats", "check"]);
    app.database
        .raw_pool()
        .await
        .execute("UPDATE regeneration_job_counts SET jobs = jobs + 7 WHERE status = 'FAILED'")
        .await
        .unwrap();

    let corrupted = cli(&app, &["stats", "check"]);
    let rebuild = cli(&app, &["stats", "rebuild"]);
    let repaired = cli(&app, &["stats", "check"]);

    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&clean.stdout).lines().count(), 1);
    assert!(!corrupted.status.success());
    assert_eq!(
        String::from_utf8_lossy(&corrupted.stdout).trim(),
        "article FAILED kept=8 counted=1"
    );
    // The summary of the recount, then the one line that says what to do.
    let stderr = String::from_utf8_lossy(&corrupted.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("recounting every job: took "),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("regen-admin: 1 figure(s) differ from a recount"),
        "{stderr}"
    );
    assert!(rebuild.status.success());
    assert!(String::from_utf8_lossy(&rebuild.stdout).contains("recounted 2 jobs"));
    assert!(repaired.status.success());
    assert_eq!(stats(&app, "").await["byStatus"]["FAILED"], 1);
}
