//! Time windows, creator filters and "Go to job", on the API and the page.

use regen_domain::{JobStatus, Timestamp};
use regen_storage::Backend;

use crate::helpers::{new_job, spawn_app, TestApp};

both_backends!(
    time_windows_are_half_open_and_combine_with_other_filters,
    a_filtered_walk_visits_each_matching_job_once,
    malformed_filter_values_are_400_on_the_api_and_a_message_on_the_page,
    go_to_job_redirects_to_a_known_id_and_explains_anything_else,
);

/// Jobs created one hour apart, oldest first, alternating creators.
async fn hourly_jobs(app: &TestApp, count: i64) -> Vec<(String, Timestamp)> {
    let start = Timestamp::from_millis(1_780_000_000_000).unwrap();
    let jobs: Vec<_> = (0..count)
        .map(|n| {
            let job = regen_domain::NewJob {
                created_by: if n % 2 == 0 {
                    "editor-bot"
                } else {
                    "insight-service"
                }
                .into(),
                status: if n % 3 == 0 {
                    JobStatus::Failed
                } else {
                    JobStatus::Pending
                },
                ..new_job(JobStatus::Pending)
            };
            (
                job,
                Timestamp::from_millis(start.millis() + n * 3_600_000).unwrap(),
            )
        })
        .collect();
    let times: Vec<Timestamp> = jobs.iter().map(|(_, at)| *at).collect();
    let ids = app.store().await.insert_jobs(jobs).await.unwrap();
    ids.into_iter()
        .map(|id| id.to_string())
        .zip(times)
        .collect()
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn time_windows_are_half_open_and_combine_with_other_filters(backend: Backend) {
    let app = spawn_app(backend).await;
    let jobs = hourly_jobs(&app, 6).await;
    let (from, to) = (jobs[1].1.to_string(), jobs[4].1.to_string());

    let window = app
        .listed_ids(&format!(
            "/api/admin/regeneration-jobs?createdFrom={}&createdTo={}",
            encode(&from),
            encode(&to)
        ))
        .await;
    let by_editor = app
        .listed_ids(&format!(
            "/api/admin/regeneration-jobs?createdFrom={}&createdBy=editor-bot&status=PENDING",
            encode(&from)
        ))
        .await;
    let offset = app
        .listed_ids(&format!(
            "/api/admin/regeneration-jobs?createdTo={}",
            encode("2026-05-28T21:26:40+02:00")
        ))
        .await;

    assert_eq!(
        window,
        [jobs[3].0.as_str(), jobs[2].0.as_str(), jobs[1].0.as_str()],
        "from included, to excluded"
    );
    assert_eq!(by_editor, [jobs[4].0.as_str(), jobs[2].0.as_str()]);
    assert_eq!(
        offset.len(),
        0,
        "a UTC offset is honoured: that is before the first job"
    );
}

async fn a_filtered_walk_visits_each_matching_job_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let jobs = hourly_jobs(&app, 25).await;
    let expected: Vec<String> = jobs[5..20].iter().rev().map(|(id, _)| id.clone()).collect();
    let mut next = Some(format!(
        "/api/admin/regeneration-jobs?limit=4&createdFrom={}&createdTo={}",
        encode(&jobs[5].1.to_string()),
        encode(&jobs[20].1.to_string())
    ));
    let mut seen = Vec::new();
    while let Some(path) = next {
        let response = app.get(&path, Some(&app.admin_token)).await;
        next = response
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| {
                l.split(", ")
                    .find(|p| p.ends_with("rel=\"next\""))
                    .map(|p| p[1..p.find('>').unwrap()].to_owned())
            });
        let body: serde_json::Value = response.json().await.unwrap();
        seen.extend(
            body.as_array()
                .unwrap()
                .iter()
                .map(|j| j["id"].as_str().unwrap().to_owned()),
        );
    }
    assert_eq!(seen, expected);
}

async fn malformed_filter_values_are_400_on_the_api_and_a_message_on_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "createdFrom=yesterday",
        "createdTo=2026-11-24",
        "createdFrom=2026-11-24%2000:00:00",
        "createdBy=a%00b",
        "createdTo=",
    ] {
        let api = app
            .get(
                &format!("/api/admin/regeneration-jobs?{query}"),
                Some(&app.admin_token),
            )
            .await;
        let status = api.status();
        if query == "createdTo=" {
            assert_eq!(status, 200, "an empty field is no filter");
            continue;
        }
        assert_eq!(status, 400, "{query}");
        assert_eq!(api.headers()["content-type"], "application/problem+json");
    }

    let page = app
        .get(
            "/admin/regeneration-jobs?createdFrom=yesterday&createdBy=ops",
            Some(&app.admin_token),
        )
        .await;

    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"id="createdFrom-error""#), "{html}");
    assert!(
        html.contains("createdFrom must be an RFC 3339 time"),
        "{html}"
    );
    assert!(
        html.contains(r#"value="ops""#),
        "the other values are kept: {html}"
    );
}

async fn go_to_job_redirects_to_a_known_id_and_explains_anything_else(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let go = |target: String| {
        let app = &app;
        async move {
            app.get(
                &format!("/admin/regeneration-jobs?goto={}", encode(&target)),
                Some(&app.admin_token),
            )
            .await
        }
    };

    let known = go(id.clone()).await;
    let unknown = go("01934b6e-0000-7000-8000-000000000000".into()).await;
    let garbage = go("<script>".into()).await;

    assert_eq!(known.status(), 303);
    assert_eq!(
        known.headers()["location"],
        format!("/admin/regeneration-jobs/{id}").as_str()
    );
    for (response, shown) in [
        (unknown, "01934b6e-0000-7000-8000-000000000000"),
        (garbage, "&lt;script&gt;"),
    ] {
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("No job with id {shown}.")), "{html}");
        assert!(html.contains(&id), "the list is shown as usual");
    }
}

/// A filter no index serves scans at most a fixed number of jobs per page;
/// the API's `Link rel="next"` resumes the scan and the page says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_that_cannot_fill_a_page_says_so_and_resumes() {
    let app = spawn_app(Backend::Sqlite).await;
    let start = Timestamp::from_millis(1_780_000_000_000).unwrap();
    let jobs: Vec<_> = (0..regen_storage::SCAN_BUDGET as i64 + 10)
        .map(|n| {
            let status = if n == 0 {
                JobStatus::Failed
            } else {
                JobStatus::Completed
            };
            let job = regen_domain::NewJob {
                status,
                ..new_job(JobStatus::Pending)
            };
            (
                job,
                Timestamp::from_millis(start.millis() + n * 1000).unwrap(),
            )
        })
        .collect();
    let ids = app.store().await.insert_jobs(jobs).await.unwrap();
    let rare = "status=FAILED&status=RUNNING";

    let first = app
        .get(
            &format!("/api/admin/regeneration-jobs?{rare}"),
            Some(&app.admin_token),
        )
        .await;
    let link = first.headers()["link"].to_str().unwrap().to_owned();
    let stopped = first.headers()["x-scan-stopped-after"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = first.json().await.unwrap();
    let next = link[1..link.find('>').unwrap()].to_owned();
    let rest = app.listed_ids(&next).await;
    let page = app
        .get(
            &format!("/admin/regeneration-jobs?{rare}"),
            Some(&app.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();

    assert_eq!(body.as_array().unwrap().len(), 0);
    assert!(link.ends_with("rel=\"next\""), "{link}");
    assert_eq!(rest, [ids[0].to_string()]);
    assert_eq!(stopped, "10000");
    assert!(
        page.contains("None of the 10,000 jobs searched for this page match these filters."),
        "{page}"
    );
    assert!(!page.contains("No jobs match these filters"), "{page}");
    assert!(page.contains("rel=\"next\""));
}
