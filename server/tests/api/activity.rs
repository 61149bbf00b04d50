//! The activity chart's figures: exact per bucket, kept by the database,
//! checked and rebuilt with the counts, drawn on the list page.

use std::collections::BTreeMap;

use regen_domain::{JobStatus, JsonText, NewJob, Timestamp};
use regen_service::Operator;
use regen_storage::Backend;
use sqlx::{Executor, Row};

use crate::helpers::{client, spawn_app, TestApp};

both_backends!(
    buckets_equal_a_group_by_after_inserts_triggers_and_a_race,
    empty_buckets_are_present_and_edges_are_utc,
    bad_activity_ranges_get_400,
    a_range_over_the_limit_answers_its_newest_thousand_buckets_and_says_so,
    a_range_that_ends_before_it_starts_has_no_buckets,
    the_activity_route_is_admin_only_and_documented,
    a_drifted_activity_figure_is_caught_by_check_and_repaired_by_rebuild,
    the_list_page_draws_the_chart_with_its_summary_and_table,
);

const ACTIVITY: &str = "/api/admin/regeneration-jobs/activity";

fn job(target_type: &str, status: JobStatus) -> NewJob {
    NewJob {
        status,
        target_type: target_type.into(),
        target_id: "t".into(),
        instruction_json: JsonText::parse("{}").unwrap(),
        output_ref: None,
        error_json: None,
        created_by: "producer".into(),
    }
}

async fn activity(app: &TestApp, query: &str) -> Vec<serde_json::Value> {
    let response = app
        .get(&format!("{ACTIVITY}?{query}"), Some(&app.admin_token))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

/// (hour, series) → count, straight from the tables.
async fn grouped_by_hour(
    app: &TestApp,
    target_type: Option<&str>,
) -> BTreeMap<(String, String), i64> {
    let pool = app.database.raw_pool().await;
    let filter = target_type
        .map(|t| format!("WHERE target_type = '{t}'"))
        .unwrap_or_default();
    let joined_filter = target_type
        .map(|t| format!("AND j.target_type = '{t}'"))
        .unwrap_or_default();
    let mut figures = BTreeMap::new();
    for sql in [
        format!(
            "SELECT substr(created_at, 1, 13), status, COUNT(*) FROM regeneration_jobs {filter} GROUP BY 1, 2"
        ),
        format!(
            "SELECT substr(a.occurred_at, 1, 13), 'TRIGGERED', COUNT(*) FROM audit_events a \
             JOIN regeneration_jobs j ON j.id = a.job_id \
             WHERE a.event_type = 'REGEN_JOB_TRIGGERED' {joined_filter} GROUP BY 1, 2"
        ),
    ] {
        for row in pool.fetch_all(sql.as_str()).await.unwrap() {
            let hour: String = row.get(0);
            let series: String = row.get(1);
            let count: i64 = row.get(2);
            figures.insert((hour, series), count);
        }
    }
    figures
}

/// The API's buckets as (hour, series) → count, zeros left out.
fn from_api(buckets: &[serde_json::Value]) -> BTreeMap<(String, String), i64> {
    let mut figures = BTreeMap::new();
    for bucket in buckets {
        let hour = bucket["start"].as_str().unwrap()[..13].to_owned();
        for status in ["PENDING", "RUNNING", "COMPLETED", "FAILED"] {
            let n = bucket["created"][status].as_i64().unwrap();
            if n > 0 {
                figures.insert((hour.clone(), status.to_owned()), n);
            }
        }
        let n = bucket["triggered"].as_i64().unwrap();
        if n > 0 {
            figures.insert((hour, "TRIGGERED".to_owned()), n);
        }
    }
    figures
}

async fn buckets_equal_a_group_by_after_inserts_triggers_and_a_race(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let now = regen_service::now();
    // Spread over the last 20 hours, two target types, every status.
    let jobs: Vec<(NewJob, Timestamp)> = (0..200)
        .map(|n| {
            let status = regen_domain::ALL_STATUSES[n % 4];
            let at =
                Timestamp::from_millis(now.millis() - (n as i64 % 20) * 3_600_000 - 1000).unwrap();
            (job(["insight", "article"][n % 2], status), at)
        })
        .collect();
    store.insert_jobs(jobs).await.unwrap();
    // Triggers, some raced by several callers at once.
    let pending: Vec<String> = app
        .listed_ids("/api/admin/regeneration-jobs?status=PENDING&limit=30")
        .await;
    let mut racers = Vec::new();
    for id in &pending {
        for _ in 0..3 {
            let (address, token, id) = (app.address.clone(), app.admin_token.clone(), id.clone());
            racers.push(tokio::spawn(async move {
                client()
                    .post(format!(
                        "{address}/api/admin/regeneration-jobs/{id}/trigger"
                    ))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
    }
    let mut won = 0;
    for racer in racers {
        if racer.await.unwrap() == 200 {
            won += 1;
        }
    }
    assert_eq!(won, pending.len(), "each job triggered exactly once");

    let all = activity(&app, "bucket=hour").await;
    assert_eq!(from_api(&all), grouped_by_hour(&app, None).await);
    let insight = activity(&app, "bucket=hour&targetType=insight").await;
    assert_eq!(
        from_api(&insight),
        grouped_by_hour(&app, Some("insight")).await
    );
    let triggered: i64 = all.iter().map(|b| b["triggered"].as_i64().unwrap()).sum();
    assert_eq!(triggered, pending.len() as i64);
    // Days are the sums of their hours.
    let days = activity(
        &app,
        "bucket=day&from=2000-01-01T00:00:00Z&to=2002-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(days.len(), 731);
    let recent_days = activity(&app, "bucket=day").await;
    let created = |buckets: &[serde_json::Value]| -> i64 {
        buckets
            .iter()
            .map(|b| {
                ["PENDING", "RUNNING", "COMPLETED", "FAILED"]
                    .iter()
                    .map(|s| b["created"][s].as_i64().unwrap())
                    .sum::<i64>()
            })
            .sum()
    };
    assert_eq!(created(&recent_days), 200);
    assert!(app
        .service
        .check_job_counts(&Operator::command_line())
        .await
        .unwrap()
        .is_empty());
}

async fn empty_buckets_are_present_and_edges_are_utc(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    store
        .insert_jobs(vec![
            (
                job("insight", JobStatus::Pending),
                at("2026-11-10T23:59:59.999Z"),
            ),
            (
                job("insight", JobStatus::Failed),
                at("2026-11-11T00:00:00.000Z"),
            ),
        ])
        .await
        .unwrap();
    let days = activity(
        &app,
        "bucket=day&from=2026-11-08T00:00:00Z&to=2026-11-14T00:00:00Z",
    )
    .await;
    let starts: Vec<&str> = days.iter().map(|b| b["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-11-08T00:00:00.000Z",
            "2026-11-09T00:00:00.000Z",
            "2026-11-10T00:00:00.000Z",
            "2026-11-11T00:00:00.000Z",
            "2026-11-12T00:00:00.000Z",
            "2026-11-13T00:00:00.000Z",
        ]
    );
    assert_eq!(days[2]["created"]["PENDING"], 1);
    assert_eq!(days[2]["created"]["FAILED"], 0);
    assert_eq!(days[3]["created"]["FAILED"], 1);
    for empty in [0, 1, 4, 5] {
        assert_eq!(
            days[empty],
            serde_json::json!({"start": starts[empty], "created": {"PENDING": 0, "RUNNING": 0, "COMPLETED": 0, "FAILED": 0}, "triggered": 0})
        );
    }
    // An offset is converted to UTC before it is floored to its bucket.
    let hours = activity(
        &app,
        "bucket=hour&from=2026-11-11T01:30:00%2B02:00&to=2026-11-11T00:00:00Z",
    )
    .await;
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0]["start"], "2026-11-10T23:00:00.000Z");
    assert_eq!(hours[0]["created"]["PENDING"], 1);
    // The default is the last 24 hours, the current one included.
    assert_eq!(activity(&app, "").await.len(), 24);
    assert_eq!(activity(&app, "bucket=day").await.len(), 30);
}

async fn bad_activity_ranges_get_400(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "bucket=week",
        "bucket=",
        "from=yesterday",
        "to=2026-13-01T00:00:00Z",
        "bucket=day&bucket=hour",
        "unknown=1",
    ] {
        let response = app
            .get(&format!("{ACTIVITY}?{query}"), Some(&app.admin_token))
            .await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

async fn activity_response(app: &TestApp, query: &str) -> reqwest::Response {
    let response = app
        .get(&format!("{ACTIVITY}?{query}"), Some(&app.admin_token))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response
}

async fn a_range_over_the_limit_answers_its_newest_thousand_buckets_and_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    app.store()
        .await
        .insert_jobs(vec![(
            job("feed", JobStatus::Pending),
            at("2026-11-30T12:00:00.000Z"),
        )])
        .await
        .unwrap();

    let exactly = activity_response(
        &app,
        "bucket=day&from=2024-03-06T00:00:00Z&to=2026-12-01T00:00:00Z",
    )
    .await;
    assert!(exactly.headers().get("x-buckets-truncated").is_none());
    assert_eq!(
        exactly
            .json::<Vec<serde_json::Value>>()
            .await
            .unwrap()
            .len(),
        1000
    );

    for (query, count, first) in [
        (
            "bucket=day&from=2000-01-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            "9831",
            "2024-03-06T00:00:00.000Z",
        ),
        (
            "bucket=hour&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z",
            "1416",
            "2026-01-18T08:00:00.000Z",
        ),
    ] {
        let response = activity_response(&app, query).await;
        assert_eq!(response.headers()["x-buckets-truncated"], count, "{query}");
        let buckets: Vec<serde_json::Value> = response.json().await.unwrap();
        assert_eq!(buckets.len(), 1000, "{query}");
        assert_eq!(buckets[0]["start"], first, "{query}");
    }
    let newest = activity_response(
        &app,
        "bucket=day&from=2000-01-01T00:00:00Z&to=2026-12-01T00:00:00Z",
    )
    .await
    .json::<Vec<serde_json::Value>>()
    .await
    .unwrap();
    assert_eq!(newest[999]["start"], "2026-11-30T00:00:00.000Z");
    assert_eq!(
        newest[999]["created"]["PENDING"], 1,
        "the newest bucket is kept"
    );
}

async fn a_range_that_ends_before_it_starts_has_no_buckets(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z",
        "from=2026-12-01T00:00:00Z&to=2026-12-01T00:00:00Z",
    ] {
        assert_eq!(
            activity(&app, query).await,
            Vec::<serde_json::Value>::new(),
            "{query}"
        );
    }
}

async fn the_activity_route_is_admin_only_and_documented(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.get(ACTIVITY, None).await.status(), 401);
    assert_eq!(
        app.get(ACTIVITY, Some(&app.member_token)).await.status(),
        403
    );
    assert_eq!(
        app.get(ACTIVITY, Some(&app.admin_token)).await.status(),
        200
    );
    let post = client()
        .post(app.url(ACTIVITY))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    let document: serde_json::Value = app
        .get("/api/openapi.json", Some(&app.admin_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/admin/regeneration-jobs/activity"]["get"].is_object());
}

async fn a_drifted_activity_figure_is_caught_by_check_and_repaired_by_rebuild(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    app.trigger(&id, Some(&app.admin_token)).await;
    let operator = Operator::command_line();
    assert!(app
        .service
        .check_job_counts(&operator)
        .await
        .unwrap()
        .is_empty());
    app.database
        .raw_pool()
        .await
        .execute(
            "UPDATE regeneration_job_activity SET triggered = triggered + 5 WHERE triggered <> 0",
        )
        .await
        .unwrap();
    let found = app.service.check_job_counts(&operator).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].key.starts_with("activity ") && found[0].key.ends_with(" insight TRIGGERED"));
    assert_eq!((found[0].kept, found[0].counted), (6, 1));
    app.service.rebuild_job_counts(&operator).await.unwrap();
    assert!(app
        .service
        .check_job_counts(&operator)
        .await
        .unwrap()
        .is_empty());
    let buckets = activity(&app, "").await;
    assert_eq!(buckets.last().unwrap()["triggered"], 1);
    assert_eq!(buckets.last().unwrap()["created"]["RUNNING"], 1);
}

async fn the_list_page_draws_the_chart_with_its_summary_and_table(backend: Backend) {
    let app = spawn_app(backend).await;
    app.service
        .create_job(&Operator::command_line(), job("article", JobStatus::Failed))
        .await
        .unwrap();
    app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;
    let html = browser
        .get(app.url("/admin/regeneration-jobs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(
            "<figure class=\"chart\"><figcaption class=\"chart-summary\">Jobs created per hour over the last 24 hours: 2 in all"
        ),
        "the chart's text summary is its caption"
    );
    assert!(!html.contains("role=\"img\""), "no links inside an image");
    assert_eq!(
        html.matches("class=\"bucket\"").count(),
        24,
        "every hour, empty ones too"
    );
    assert!(
        html.contains("<a href=\"/admin/regeneration-jobs?createdFrom="),
        "bars link to their window"
    );
    assert_eq!(
        html.matches("<th scope=\"row\"><a href=\"/admin/regeneration-jobs?createdFrom=")
            .count(),
        24,
        "and so does each row of the numbers, for the keyboard"
    );
    assert!(html.contains("class=\"bar bar-failed\""));
    assert!(html.contains("<summary>The numbers</summary>"));
    assert!(html.contains("class=\"triggered-line\""));
    assert!(!html.contains("type=\"module\""), "still no WASM");

    let week = browser
        .get(app.url("/admin/regeneration-jobs?targetType=article&chart=7d"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(week.contains("Jobs created per day over the last 7 days: 1 in all"));
    assert_eq!(week.matches("class=\"bucket\"").count(), 7);
    assert!(week.contains("<a href=\"/admin/regeneration-jobs?targetType=article&amp;createdFrom="));
    assert!(week.contains("aria-current=\"page\" class=\"range\">7 days</a>"));
    let hidden = browser
        .get(app.url("/admin/regeneration-jobs?chart=off"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!hidden.contains("activity-chart"), "chart=off hides it");
    assert!(hidden.contains("class=\"status-counts\""));
}
