//! Exact counts: the stats API, the list page's counts, the gauges and the
//! CLI that checks and rebuilds them.

use regen_domain::JobStatus;
use regen_storage::Backend;
use serde_json::Value;
use sqlx::{Executor, Row};

use crate::helpers::{
    client, new_job, sample, spawn_app, spawn_app_with, spawn_second_instance, Options, TestApp,
};

both_backends!(
    stats_count_every_job_by_status_and_target_type,
    stats_include_jobs_producers_insert_with_their_own_sql,
    stats_stay_exact_after_a_64_way_trigger_race,
    bad_stats_parameters_are_400,
    the_list_page_shows_each_count_as_a_link_and_the_oldest_wait,
    the_job_gauges_move_with_inserts_and_triggers,
    stats_check_passes_then_catches_a_corrupted_counter_until_rebuilt,
    every_instance_reads_exact_counts_during_concurrent_triggers_and_inserts,
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

async fn stats_at(address: &str, token: &str) -> Value {
    let response = client()
        .get(format!("{address}/api/admin/regeneration-jobs/stats"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// status → COUNT(*), straight from the table.
async fn counted(app: &TestApp) -> serde_json::Map<String, Value> {
    let pool = app.database.raw_pool().await;
    let mut counts = serde_json::Map::new();
    for status in ["PENDING", "RUNNING", "COMPLETED", "FAILED"] {
        counts.insert(status.into(), 0.into());
    }
    for row in pool
        .fetch_all("SELECT status, COUNT(*) FROM regeneration_jobs GROUP BY status")
        .await
        .unwrap()
    {
        let status: String = row.get(0);
        let count: i64 = row.get(1);
        counts.insert(status, count.into());
    }
    counts
}

/// Two instances on one database, triggers racing on both while a producer
/// inserts with its own SQL: every read on either instance is a consistent
/// snapshot that never goes backwards, a trigger committed on one instance
/// is seen by the very next read on the other, and at the end both agree
/// with `COUNT(*)` and `stats check`.
async fn every_instance_reads_exact_counts_during_concurrent_triggers_and_inserts(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    let instances = [app.address.clone(), second.clone()];
    let token = app.admin_token.clone();

    // Read-your-write across instances, one step at a time.
    let first = app.insert_job(JobStatus::Pending).await;
    assert_eq!(stats_at(&second, &token).await["byStatus"]["PENDING"], 1);
    assert_eq!(app.trigger(&first, Some(&token)).await.status(), 200);
    let seen = stats_at(&second, &token).await;
    assert_eq!(seen["byStatus"]["PENDING"], 0);
    assert_eq!(seen["byStatus"]["RUNNING"], 1);

    const JOBS: usize = 24;
    const RACERS_PER_JOB: usize = 4;
    const RAW_INSERTS: usize = 16;
    let mut ids = Vec::new();
    for _ in 0..JOBS {
        ids.push(app.insert_job(JobStatus::Pending).await);
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = instances
        .iter()
        .cloned()
        .map(|address| {
            let (token, done) = (token.clone(), done.clone());
            tokio::spawn(async move {
                let (mut reads, mut last_running, mut last_total) = (0, 0, 0);
                while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                    let stats = stats_at(&address, &token).await;
                    let by_status = &stats["byStatus"];
                    let sum: i64 = ["PENDING", "RUNNING", "COMPLETED", "FAILED"]
                        .iter()
                        .map(|s| by_status[s].as_i64().unwrap())
                        .sum();
                    let (running, total) = (
                        by_status["RUNNING"].as_i64().unwrap(),
                        stats["total"].as_i64().unwrap(),
                    );
                    assert_eq!(sum, total, "{stats}");
                    assert!(running >= last_running, "RUNNING went back: {stats}");
                    assert!(total >= last_total, "total went back: {stats}");
                    assert!(running <= 1 + JOBS as i64, "{stats}");
                    (last_running, last_total) = (running, total);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let producer = {
        let pool = app.database.raw_pool().await;
        tokio::spawn(async move {
            for n in 0..RAW_INSERTS {
                pool.execute(
                    format!(
                        "INSERT INTO regeneration_jobs (id, status, target_type, target_id, instruction_json, created_at, created_by) \
                         VALUES ('{}', 'PENDING', 'raw', 'r-{n}', '{{}}', '2026-01-01T00:00:00.000Z', 'producer')",
                        uuid::Uuid::now_v7()
                    )
                    .as_str(),
                )
                .await
                .unwrap();
            }
        })
    };
    let mut racers = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        for racer in 0..RACERS_PER_JOB {
            // Each job is raced from both instances.
            let address = instances[(n + racer) % 2].clone();
            let request = client()
                .post(format!(
                    "{address}/api/admin/regeneration-jobs/{id}/trigger"
                ))
                .bearer_auth(&token);
            racers.push(tokio::spawn(async move {
                request.send().await.unwrap().status().as_u16()
            }));
        }
    }
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            200 => won += 1,
            409 => {}
            other => panic!("trigger answered {other}"),
        }
    }
    producer.await.unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }

    assert_eq!(won, JOBS);
    let expected = counted(&app).await;
    assert_eq!(expected["RUNNING"], 1 + JOBS);
    assert_eq!(expected["PENDING"], RAW_INSERTS);
    for address in &instances {
        let stats = stats_at(address, &token).await;
        assert_eq!(
            stats["byStatus"],
            Value::Object(expected.clone()),
            "{address}"
        );
        assert_eq!(stats["total"], 1 + JOBS + RAW_INSERTS, "{address}");
    }
    let check = cli(&app, &["stats", "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
