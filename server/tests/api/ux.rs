//! Issue 34 as the server renders it: the page script (served, hashed,
//! loaded with the nonce), each admin's preferences (saved from the
//! account page, on every page), times as `<time>`, the links to a job's
//! target and its other jobs.

use regen_domain::{JobStatus, NewJob, Role, Timestamp};
use regen_service::Operator;
use regen_storage::Backend;

use crate::helpers::{client, new_job, spawn_app, spawn_app_with, Options, TestApp, PASSWORD};

both_backends!(
    every_signed_in_page_loads_the_page_script_with_its_nonce_and_the_list_still_ships_no_wasm,
    preferences_saved_on_the_account_page_reach_every_page,
    an_unknown_time_display_is_refused_and_changes_nothing,
    times_are_utc_time_elements_with_the_utc_value_in_their_title,
    a_configured_target_type_links_to_its_target_with_the_id_as_one_path_segment,
    the_detail_page_lists_the_targets_ten_newest_other_jobs_and_links_to_the_rest,
);

async fn page(browser: &reqwest::Client, url: String) -> (reqwest::header::HeaderMap, String) {
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

/// The value of `name="…"` in the first tag holding `marker`.
fn attribute(html: &str, marker: &str, name: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let value_at = tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{name} in {tag}"))
        + name.len()
        + 3;
    tag[value_at..].split('"').next().unwrap().to_owned()
}

async fn post_form(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post(app.url(path))
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn every_signed_in_page_loads_the_page_script_with_its_nonce_and_the_list_still_ships_no_wasm(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;

    for path in [
        "/admin/regeneration-jobs".to_owned(),
        format!("/admin/regeneration-jobs/{id}"),
        "/admin/audit".to_owned(),
        "/admin/account".to_owned(),
    ] {
        let (headers, html) = page(&browser, app.url(&path)).await;
        let src = attribute(&html, "src=\"/pkg/regen-admin-page.", "src");
        let nonce = attribute(&html, "src=\"/pkg/regen-admin-page.", "nonce");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains(&format!("'nonce-{nonce}'")), "{path}: {csp}");
        assert!(html.contains("defer"), "{path}");
        assert!(
            html.contains("<body data-time-display=\"utc\" data-shortcuts=\"on\">"),
            "{path}: the defaults"
        );
        assert!(html.contains("<dialog id=\"keyboard-shortcuts\""), "{path}");

        let script = client().get(app.url(&src)).send().await.unwrap();
        assert_eq!(script.status(), 200, "{src}");
        assert_eq!(
            script.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert_eq!(script.text().await.unwrap(), app::PAGE_SCRIPT);
        let gzipped = client()
            .get(app.url(&src))
            .header("accept-encoding", "br, gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gzipped.headers()["content-encoding"], "gzip");
        assert_eq!(gzipped.headers()["vary"], "accept-encoding");
        let bytes = gzipped.bytes().await.unwrap();
        assert!(bytes.starts_with(&[0x1f, 0x8b]) && bytes.len() < app::PAGE_SCRIPT.len());
    }

    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs")).await;
    assert!(
        !list.contains("type=\"module\"") && !list.contains(".wasm"),
        "no WASM"
    );
    let (_, login) = page(&client(), app.url("/login")).await;
    assert!(
        !login.contains("regen-admin-page."),
        "nobody signed in, no script"
    );
}

async fn preferences_saved_on_the_account_page_reach_every_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;

    let saved = post_form(
        &browser,
        &app,
        "/admin/account/preferences",
        &[("timeDisplay", "relative")],
    )
    .await;

    assert_eq!(saved.status(), 303);
    assert_eq!(
        saved.headers()["location"],
        "/admin/account?notice=preferences-saved"
    );
    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs")).await;
    assert!(
        list.contains("<body data-time-display=\"relative\" data-shortcuts=\"off\">"),
        "an unchecked box turns shortcuts off"
    );
    assert!(list.contains("Keyboard shortcuts are off for your account"));
    let (_, account) = page(&browser, app.url("/admin/account?notice=preferences-saved")).await;
    assert!(account.contains("Preferences saved."));
    assert!(account.contains("value=\"relative\" checked"), "{account}");
    assert!(!account.contains("name=\"keyboardShortcuts\" value=\"on\" checked"));

    post_form(
        &browser,
        &app,
        "/admin/account/preferences",
        &[("timeDisplay", "local"), ("keyboardShortcuts", "on")],
    )
    .await;
    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs")).await;
    assert!(list.contains("<body data-time-display=\"local\" data-shortcuts=\"on\">"));

    // Another admin's pages keep their own.
    app.service
        .create_user(&Operator::command_line(), "bob", Role::Admin, PASSWORD)
        .await
        .unwrap();
    let other = app.browser_login("bob").await;
    let (_, theirs) = page(&other, app.url("/admin/regeneration-jobs")).await;
    assert!(theirs.contains("<body data-time-display=\"utc\" data-shortcuts=\"on\">"));
}

async fn an_unknown_time_display_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    for form in [
        vec![("timeDisplay", "martian"), ("keyboardShortcuts", "on")],
        vec![("keyboardShortcuts", "on")],
    ] {
        let refused = post_form(&browser, &app, "/admin/account/preferences", &form).await;
        assert_eq!(refused.status(), 400, "{form:?}");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
    }
    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs")).await;
    assert!(list.contains("<body data-time-display=\"utc\" data-shortcuts=\"on\">"));

    let cross_site = browser
        .post(app.url("/admin/account/preferences"))
        .header("origin", "https://evil.example")
        .form(&[("timeDisplay", "local")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross_site.status(),
        403,
        "CSRF-checked like every cookie POST"
    );
    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs")).await;
    assert!(list.contains("<body data-time-display=\"utc\" data-shortcuts=\"on\">"));
}

async fn times_are_utc_time_elements_with_the_utc_value_in_their_title(backend: Backend) {
    let app = spawn_app(backend).await;
    let at: Timestamp = "2026-03-04T05:06:07.089Z".parse().unwrap();
    let ids = app
        .store()
        .await
        .insert_jobs(vec![(new_job(JobStatus::Failed), at)])
        .await
        .unwrap();
    let browser = app.browser_login("ada").await;

    let (_, detail) = page(
        &browser,
        app.url(&format!("/admin/regeneration-jobs/{}", ids[0])),
    )
    .await;
    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs?status=FAILED")).await;

    let time = "<time datetime=\"2026-03-04T05:06:07.089Z\" title=\"2026-03-04 05:06:07 UTC\">2026-03-04 05:06:07 UTC</time>";
    assert!(detail.contains(time), "{detail}");
    assert!(list.contains(time), "{list}");
    assert!(
        list.contains("Created <span data-time-zone=\"\">(UTC)</span></th>"),
        "{list}"
    );
}

async fn a_configured_target_type_links_to_its_target_with_the_id_as_one_path_segment(
    backend: Backend,
) {
    let app = spawn_app_with(
        backend,
        Options {
            target_links: Some("insight=https://cms.example.com/insights/{targetId}/edit"),
            ..Options::default()
        },
    )
    .await;
    let store = app.store().await;
    let hostile = NewJob {
        target_id: "../x?y=1#z ü".into(),
        ..new_job(JobStatus::Pending)
    };
    let linked = store.insert_job(hostile).await.unwrap().id;
    let unlinked = store
        .insert_job(NewJob {
            target_type: "video".into(),
            ..new_job(JobStatus::Pending)
        })
        .await
        .unwrap()
        .id;
    let browser = app.browser_login("ada").await;
    let href = "href=\"https://cms.example.com/insights/..%2Fx%3Fy%3D1%23z%20%C3%BC/edit\"";

    let (_, detail) = page(
        &browser,
        app.url(&format!("/admin/regeneration-jobs/{linked}")),
    )
    .await;
    let (_, list) = page(&browser, app.url("/admin/regeneration-jobs")).await;
    let (_, other) = page(
        &browser,
        app.url(&format!("/admin/regeneration-jobs/{unlinked}")),
    )
    .await;

    let link = format!(
        "<a {href} target=\"_blank\" rel=\"noopener noreferrer\" class=\"target-link\">Open target"
    );
    assert!(detail.contains(&link), "{detail}");
    assert!(
        list.contains(&format!(
            "<a {href} target=\"_blank\" rel=\"noopener noreferrer\""
        )),
        "{list}"
    );
    assert_eq!(
        list.matches("class=\"target-link\"").count(),
        1,
        "video has no template"
    );
    assert!(!other.contains("Open target"));
}

async fn the_detail_page_lists_the_targets_ten_newest_other_jobs_and_links_to_the_rest(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let start: Timestamp = "2026-03-04T00:00:00.000Z".parse().unwrap();
    let at = |minute: i64| Timestamp::from_millis(start.millis() + minute * 60_000).unwrap();
    let mut ids = store
        .insert_jobs(
            (0..11)
                .map(|m| (new_job(JobStatus::Pending), at(m)))
                .collect(),
        )
        .await
        .unwrap();
    let alone = store
        .insert_job(NewJob {
            target_id: "alone & only".into(),
            ..new_job(JobStatus::Pending)
        })
        .await
        .unwrap()
        .id;
    let browser = app.browser_login("ada").await;
    let panel = |html: String| {
        let start = html.find("class=\"target-jobs-panel\"").expect("the panel");
        let end = start + html[start..].find("</section>").unwrap();
        html[start..end].to_owned()
    };
    let listed = |panel: &str| -> Vec<String> {
        panel
            .split("href=\"/admin/regeneration-jobs/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_owned())
            .collect()
    };
    let more = "href=\"/admin/regeneration-jobs?targetType=insight&amp;targetId=ins-1\"";
    let first = format!("/admin/regeneration-jobs/{}", ids[0]);

    let ten = panel(page(&browser, app.url(&first)).await.1);
    assert_eq!(listed(&ten).len(), 10);
    assert!(!ten.contains(more), "ten others are all there is: {ten}");

    ids.extend(
        store
            .insert_jobs(vec![(new_job(JobStatus::Failed), at(11))])
            .await
            .unwrap(),
    );
    let eleven = panel(page(&browser, app.url(&first)).await.1);
    let newest: Vec<String> = ids[2..].iter().rev().map(|id| id.to_string()).collect();
    assert_eq!(listed(&eleven), newest, "the ten newest, without this job");
    assert!(eleven.contains(more), "{eleven}");
    assert!(eleven.contains("badge-failed"), "with their status");

    let lonely = panel(
        page(
            &browser,
            app.url(&format!("/admin/regeneration-jobs/{alone}")),
        )
        .await
        .1,
    );
    assert!(lonely.contains("No other jobs for this target."));
    assert!(listed(&lonely).is_empty());
}
