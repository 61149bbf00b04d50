//! Server-rendered pages: what the HTML contains for each status, and what
//! it must never contain.

use regen_domain::{JobStatus, JsonText, NewJob, ALL_STATUSES};
use regen_storage::Backend;

use crate::helpers::spawn_app;

pub(crate) async fn html(browser: &reqwest::Client, url: String) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

both_backends!(
    the_list_page_shows_every_column_badge_and_link,
    the_list_page_filters_through_a_get_form_and_pages_with_cursors,
    the_detail_page_offers_trigger_only_for_pending_jobs,
    json_is_rendered_read_only_and_escaped,
    the_no_javascript_trigger_redirects_back_with_the_outcome,
    json_fields_download_as_the_exact_stored_bytes,
    an_unknown_job_page_is_a_404,
);

async fn the_list_page_shows_every_column_badge_and_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for status in ALL_STATUSES {
        ids.push(app.insert_job(status).await);
    }
    let browser = app.browser_login("ada").await;

    let page = html(&browser, app.url("/admin/regeneration-jobs")).await;

    for header in [
        "Id",
        "Status",
        "Target type",
        "Target id",
        "Created <span data-time-zone=\"\">(UTC)</span>",
        "Created by",
    ] {
        assert!(
            page.contains(&format!("<th scope=\"col\">{header}</th>")),
            "{header}"
        );
    }
    for status in ALL_STATUSES {
        let badge = format!(
            "<span class=\"badge badge-{}\">{}</span>",
            status.as_str().to_lowercase(),
            status
        );
        assert!(page.contains(&badge), "{badge}");
    }
    for id in &ids {
        assert!(page.contains(&format!("href=\"/admin/regeneration-jobs/{id}\"")));
    }
    assert!(page.contains(" UTC</time>") && page.contains("ago</span>"));
    assert_eq!(
        page.matches("<form").count(),
        3,
        "the go-to-job and filter forms (GET) and the logout form, nothing else"
    );
    assert_eq!(
        page.matches("<form method=\"post\"").count(),
        1,
        "only logout posts"
    );
    assert!(
        !page.contains("method=\"post\" action=\"/admin"),
        "no state-changing form on the list page"
    );
    assert!(
        !page.contains("leptos-island"),
        "the list page has no islands"
    );
    assert!(
        !page.contains("type=\"module\"") && !page.contains(".wasm"),
        "and loads no WASM"
    );
}

async fn the_list_page_filters_through_a_get_form_and_pages_with_cursors(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..3 {
        app.insert_job(JobStatus::Pending).await;
        app.insert_job(JobStatus::Failed).await;
    }
    let browser = app.browser_login("ada").await;

    let page = html(
        &browser,
        app.url("/admin/regeneration-jobs?status=FAILED&limit=2"),
    )
    .await;

    assert!(page.contains("method=\"get\""));
    assert!(page.contains("value=\"FAILED\" checked"));
    assert_eq!(page.matches("badge-failed\">FAILED</span></td>").count(), 2);
    assert!(!page.contains("badge-pending\">PENDING</span></td>"));
    let older = page
        .split("rel=\"next\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(older.contains("status=FAILED") && older.contains("cursor="));
    let page_two = html(&browser, app.url(&older)).await;
    assert_eq!(
        page_two
            .matches("badge-failed\">FAILED</span></td>")
            .count(),
        1
    );
    assert!(page_two.contains("rel=\"prev\""));

    let empty = html(
        &browser,
        app.url("/admin/regeneration-jobs?targetType=nothing"),
    )
    .await;
    assert!(empty.contains("No jobs match these filters."));
    let bad = browser
        .get(app.url("/admin/regeneration-jobs?status=NOPE"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

async fn the_detail_page_offers_trigger_only_for_pending_jobs(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    for status in ALL_STATUSES {
        let id = app.insert_job(status).await;

        let page = html(&browser, app.url(&format!("/admin/regeneration-jobs/{id}"))).await;

        let has_trigger =
            page.contains(&format!("action=\"/admin/regeneration-jobs/{id}/trigger\""));
        assert_eq!(has_trigger, status == JobStatus::Pending, "{status}");
        assert!(page.contains("REGEN_JOB_CREATED"));
        assert!(page.contains("instructionJson"));
        let forms = page.matches("<form").count();
        let expected = if status == JobStatus::Pending { 3 } else { 1 };
        assert_eq!(
            forms, expected,
            "{status}: logout + (PENDING) no-JS form + dialog form"
        );
        for forbidden in ["retry", "Retry", "Delete", "Edit"] {
            assert!(!page.contains(&format!(">{forbidden}")), "{forbidden}");
        }
    }
}

async fn json_is_rendered_read_only_and_escaped(backend: Backend) {
    let app = spawn_app(backend).await;
    let job = NewJob {
        status: JobStatus::Failed,
        target_type: "insight".into(),
        target_id: "x".into(),
        instruction_json: JsonText::parse(
            r#"{"a</script><script>alert(1)</script>":"<img src=x onerror=alert(1)>","link":"javascript:alert(1)","big":123456789012345678901234567890.00}"#,
        )
        .unwrap(),
        output_ref: Some(JsonText::parse(r#"{"uri":"s3://x"}"#).unwrap()),
        error_json: Some(JsonText::parse(r#"{"code":"E"}"#).unwrap()),
        created_by: "p".into(),
    };
    let id = app.store().await.insert_job(job).await.unwrap().id;
    let browser = app.browser_login("ada").await;

    let page = html(&browser, app.url(&format!("/admin/regeneration-jobs/{id}"))).await;

    assert!(!page.contains("<script>alert(1)"));
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("href=\"javascript:"));
    assert!(
        page.contains("123456789012345678901234567890.00"),
        "big numbers as written"
    );
    assert!(
        page.contains("role=\"tree\"")
            && page.contains("role=\"treeitem\"")
            && page.contains("aria-level=\"1\"")
    );
    for field in ["instructionJson", "outputRef", "errorJson"] {
        assert!(
            page.contains(&format!("id=\"{field}-heading\"")),
            "{field} has a viewer"
        );
    }
    assert!(!page.contains("<textarea") && !page.contains("contenteditable"));
    assert_eq!(
        page.matches("<input").count(),
        3,
        "one filter box per viewer, nothing else"
    );
    assert_eq!(page.matches("type=\"search\"").count(), 3);
}

async fn the_no_javascript_trigger_redirects_back_with_the_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;
    let post = || {
        browser
            .post(app.url(&format!("/admin/regeneration-jobs/{id}/trigger")))
            .header("sec-fetch-site", "same-origin")
            .send()
    };

    let first = post().await.unwrap();
    assert_eq!(first.status(), 303);
    assert_eq!(
        first.headers()["location"],
        format!("/admin/regeneration-jobs/{id}?outcome=triggered").as_str()
    );
    let second = post().await.unwrap();
    assert_eq!(
        second.headers()["location"],
        format!("/admin/regeneration-jobs/{id}?outcome=conflict").as_str()
    );

    let page = html(
        &browser,
        app.url(&format!("/admin/regeneration-jobs/{id}?outcome=conflict")),
    )
    .await;
    assert!(page.contains("no longer PENDING"));
    assert!(page.contains("REGEN_JOB_TRIGGERED"));
    assert!(page.contains("badge-running"));
}

async fn an_unknown_job_page_is_a_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    for id in ["01934b6e-0000-7000-8000-000000000000", "garbage"] {
        let response = browser
            .get(app.url(&format!("/admin/regeneration-jobs/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{id}");
        assert!(response.text().await.unwrap().contains("Not found"));
    }
}

async fn json_fields_download_as_the_exact_stored_bytes(backend: Backend) {
    let app = spawn_app(backend).await;
    let text = "\r\n{ \"a\" :\r\n 1.50,\"b\":\"\\u00e9<\\/script>\" }\n";
    let job = NewJob {
        instruction_json: JsonText::parse(text).unwrap(),
        ..crate::helpers::new_job(JobStatus::Pending)
    };
    let id = app.store().await.insert_job(job).await.unwrap().id;
    let browser = app.browser_login("ada").await;

    let response = browser
        .get(app.url(&format!(
            "/admin/regeneration-jobs/{id}/download/instructionJson"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"regeneration-job-{id}-instructionJson.json\"").as_str()
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), text.as_bytes());
    let missing = browser
        .get(app.url(&format!("/admin/regeneration-jobs/{id}/download/outputRef")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let anonymous = crate::helpers::client()
        .get(app.url(&format!(
            "/admin/regeneration-jobs/{id}/download/instructionJson"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);

    // The raw view's text is the stored text once the HTML parser has run:
    // a newline leads (the parser eats it) and CR is a character reference.
    let page = html(&browser, app.url(&format!("/admin/regeneration-jobs/{id}"))).await;
    assert!(
        page.contains(">\n&#13;\n{ &quot;a&quot; :&#13;\n 1.50,"),
        "{page}"
    );
}
