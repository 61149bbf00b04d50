//! The bulk trigger in the browser without JavaScript: the list page's
//! controls, the confirmation page, the result page, a count that changed
//! in between, and the CSRF guard in front of them.

use regen_domain::JobStatus;
use regen_storage::Backend;

use crate::helpers::{spawn_app, spawn_app_with_bulk_max, TestApp};

both_backends!(
    only_a_list_of_pending_jobs_offers_the_bulk_trigger,
    trigger_all_is_offered_only_within_the_maximum,
    selected_jobs_are_confirmed_then_triggered_and_reported,
    trigger_all_whose_count_changed_asks_again_and_triggers_nothing,
    a_cross_site_bulk_post_is_refused,
);

const CONFIRM: &str = "/admin/regeneration-jobs/bulk-trigger/confirm";
const TRIGGER: &str = "/admin/regeneration-jobs/bulk-trigger";

async fn page(browser: &reqwest::Client, app: &TestApp, path: &str) -> String {
    let response = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

async fn post(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = browser
        .post(app.url(path))
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn only_a_list_of_pending_jobs_offers_the_bulk_trigger(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = [
        app.insert_job(JobStatus::Pending).await,
        app.insert_job(JobStatus::Pending).await,
    ];
    app.insert_job(JobStatus::Running).await;
    let browser = app.browser_login("ada").await;

    let pending = page(&browser, &app, "/admin/regeneration-jobs?status=PENDING").await;
    let everything = page(&browser, &app, "/admin/regeneration-jobs").await;
    let running = page(&browser, &app, "/admin/regeneration-jobs?status=RUNNING").await;

    for id in &ids {
        assert!(
            pending.contains(&format!(
                "name=\"id\" value=\"{id}\" aria-label=\"Select job {id}\""
            )),
            "a checkbox for {id}"
        );
    }
    assert!(pending.contains("Trigger selected"));
    assert!(
        pending.contains("Trigger all 2 matching"),
        "N is the exact count shown"
    );
    assert!(pending.contains(&format!("action=\"{CONFIRM}\"")));
    assert!(pending.contains("data-final=\"/admin/regeneration-jobs/bulk-trigger\""));
    assert!(pending.contains("<dialog"), "the dialog for JavaScript");
    assert!(
        pending.contains("leptos-island"),
        "the list of PENDING jobs hydrates its island"
    );
    for other in [&everything, &running] {
        assert!(!other.contains("Trigger selected"));
        assert!(!other.contains("name=\"id\""));
        assert!(!other.contains("leptos-island") && !other.contains(".wasm"));
    }
}

async fn trigger_all_is_offered_only_within_the_maximum(backend: Backend) {
    let app = spawn_app_with_bulk_max(backend, 2).await;
    for _ in 0..3 {
        app.insert_job(JobStatus::Pending).await;
    }
    let browser = app.browser_login("ada").await;

    let list = page(&browser, &app, "/admin/regeneration-jobs?status=PENDING").await;
    // A filter the kept counts cannot answer shows no count: no "all" either.
    let uncounted = page(
        &browser,
        &app,
        "/admin/regeneration-jobs?status=PENDING&createdBy=producer",
    )
    .await;

    assert!(list.contains("Trigger selected"));
    assert!(!list.contains("Trigger all"), "3 is over the maximum of 2");
    assert!(uncounted.contains("Trigger selected"));
    assert!(!uncounted.contains("Trigger all"));
}

async fn selected_jobs_are_confirmed_then_triggered_and_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    let pending = [
        app.insert_job(JobStatus::Pending).await,
        app.insert_job(JobStatus::Pending).await,
    ];
    let finished = app.insert_job(JobStatus::Completed).await;
    let browser = app.browser_login("ada").await;
    let form = [
        ("id", pending[0].as_str()),
        ("id", pending[1].as_str()),
        ("id", finished.as_str()),
    ];

    let (status, confirm) = post(&browser, &app, CONFIRM, &form).await;

    assert_eq!(status, 200);
    assert!(confirm.contains("Trigger 3 jobs?"), "{confirm}");
    assert!(confirm.contains("the 3 selected PENDING jobs"));
    assert!(confirm.contains(&format!("action=\"{TRIGGER}\"")));
    for id in pending.iter().chain([&finished]) {
        assert!(confirm.contains(&format!(
            "<input type=\"hidden\" name=\"id\" value=\"{id}\""
        )));
    }
    assert_eq!(
        app.detail(&pending[0]).await["status"],
        "PENDING",
        "confirming changes nothing"
    );

    let (status, result) = post(&browser, &app, TRIGGER, &form).await;

    assert_eq!(status, 200);
    assert!(result.contains("Triggered 2 of 3 jobs."), "{result}");
    assert!(result.contains("Triggered (2)"));
    assert!(result.contains("Already running or finished (1)"));
    assert!(result.contains("badge-completed"));
    assert!(result.contains("Not found (0)"));
    for id in &pending {
        assert_eq!(app.detail(id).await["status"], "RUNNING");
    }
}

async fn trigger_all_whose_count_changed_asks_again_and_triggers_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = [
        app.insert_job(JobStatus::Pending).await,
        app.insert_job(JobStatus::Pending).await,
    ];
    let browser = app.browser_login("ada").await;
    let form = [("targetType", "insight"), ("expectedCount", "2")];
    let (_, confirm) = post(&browser, &app, CONFIRM, &form).await;
    assert!(
        confirm.contains("all 2 PENDING jobs with target type “insight”"),
        "{confirm}"
    );
    let third = app.insert_job(JobStatus::Pending).await;

    let (status, again) = post(&browser, &app, TRIGGER, &form).await;

    assert_eq!(status, 409);
    assert!(again.contains("changed from 2 to 3"), "{again}");
    assert!(again.contains("<input type=\"hidden\" name=\"expectedCount\" value=\"3\""));
    for id in ids.iter().chain([&third]) {
        assert_eq!(app.detail(id).await["status"], "PENDING");
    }
    let confirmed = [("targetType", "insight"), ("expectedCount", "3")];
    let (status, result) = post(&browser, &app, TRIGGER, &confirmed).await;
    assert_eq!(status, 200);
    assert!(result.contains("Triggered 3 of 3 jobs."), "{result}");
}

async fn a_cross_site_bulk_post_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;
    let before = app.snapshot().await;

    for path in [CONFIRM, TRIGGER] {
        let response = browser
            .post(app.url(path))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .form(&[("id", id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    assert_eq!(app.snapshot().await, before);
}
