//! Taking access back: revoked, expired and disabled credentials, read-only
//! tokens, demotion, the shared login throttle, the account page, and the
//! security events (with no secret in any log line).

use std::time::Duration;

use regen_domain::{JobStatus, Role, Scope};
use regen_service::{Operator, ServiceError, TokenRequest};
use regen_storage::Backend;
use sqlx::Row;

use crate::helpers::{
    client, service_on, spawn_app, spawn_app_with, spawn_second_instance, Options, TestApp,
    PASSWORD,
};

both_backends!(
    revoked_expired_and_disabled_owner_tokens_get_401_invalid_token,
    a_read_scope_token_reads_but_cannot_trigger,
    a_read_scope_token_is_refused_outside_the_rest_api,
    a_demotion_takes_effect_on_the_next_request,
    disabling_ends_sessions_on_every_instance_at_once,
    the_login_throttle_is_shared_by_instances_and_survives_a_restart,
    a_disabled_user_cannot_log_in_and_is_told_nothing_more,
    the_account_page_lists_sessions_and_tokens_and_signs_out_others,
    signing_out_this_session_from_the_account_page_logs_out,
    revoking_a_token_on_the_account_page_stops_it,
    changing_the_password_ends_the_other_sessions,
    a_password_change_revokes_the_api_tokens_when_the_box_is_checked,
    a_wrong_current_password_changes_nothing,
    account_forms_refuse_cross_site_posts,
    security_events_are_counted,
);

fn operator() -> Operator {
    Operator::command_line()
}

/// Logs in through the form on any instance; the client keeps the cookie.
async fn login_at(base: &str, username: &str, password: &str) -> reqwest::Client {
    let browser = client();
    let response = browser
        .post(format!("{base}/login"))
        .header("sec-fetch-site", "same-origin")
        .header("user-agent", "accounts-test/1.0")
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "login as {username} at {base}");
    browser
}

async fn status_of(browser: &reqwest::Client, url: String) -> u16 {
    browser.get(url).send().await.unwrap().status().as_u16()
}

async fn post_form(
    browser: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .post(url)
        .header("sec-fetch-site", "same-origin")
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn token_for(app: &TestApp, user: &str, request: TokenRequest) -> (String, String) {
    let created = app
        .service
        .create_api_token(&operator(), user, request)
        .await
        .unwrap();
    (created.token, created.summary.id)
}

async fn assert_invalid_token(app: &TestApp, token: &str, why: &str) {
    let response = app.get("/api/admin/regeneration-jobs", Some(token)).await;
    assert_eq!(response.status(), 401, "{why}");
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\"",
        "{why}"
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

async fn revoked_expired_and_disabled_owner_tokens_get_401_invalid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let list = "/api/admin/regeneration-jobs";
    assert_eq!(app.get(list, Some(&app.admin_token)).await.status(), 200);

    // Revoked: by id, from the CLI's service method.
    let (revoked, revoked_id) = token_for(&app, "ada", TokenRequest::default()).await;
    assert_eq!(app.get(list, Some(&revoked)).await.status(), 200);
    let summary = app
        .service
        .revoke_api_token(&operator(), &revoked_id)
        .await
        .unwrap();
    assert!(summary.revoked_at.is_some());
    assert_invalid_token(&app, &revoked, "revoked").await;
    // Revoking again keeps the first time; an unknown id is an error.
    let again = app
        .service
        .revoke_api_token(&operator(), &revoked_id)
        .await
        .unwrap();
    assert_eq!(again.revoked_at, summary.revoked_at);
    assert!(matches!(
        app.service.revoke_api_token(&operator(), "nope").await,
        Err(ServiceError::InvalidInput(_))
    ));

    // Expired: made with one second to live.
    let (expiring, _) = token_for(
        &app,
        "ada",
        TokenRequest {
            expires_in: Some(Duration::from_secs(1)),
            ..TokenRequest::default()
        },
    )
    .await;
    assert_eq!(app.get(list, Some(&expiring)).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_invalid_token(&app, &expiring, "expired").await;

    // Disabled owner: every token of theirs is revoked, and enabling the
    // owner again brings none of them back.
    let taken = app
        .service
        .set_user_disabled(&operator(), "ada", true)
        .await
        .unwrap();
    assert!(taken.tokens_revoked >= 1, "{taken:?}");
    assert_invalid_token(&app, &app.admin_token, "disabled owner").await;
    app.service
        .set_user_disabled(&operator(), "ada", false)
        .await
        .unwrap();
    assert_invalid_token(&app, &app.admin_token, "owner enabled again").await;

    // Unknown tokens get the same answer.
    assert_invalid_token(&app, "rga_not-a-real-token", "unknown").await;
}

async fn a_read_scope_token_reads_but_cannot_trigger(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let (reader, _) = token_for(
        &app,
        "ada",
        TokenRequest {
            scope: Some(Scope::Read),
            label: Some("dashboard".into()),
            ..TokenRequest::default()
        },
    )
    .await;

    for path in [
        "/api/admin/regeneration-jobs".to_owned(),
        format!("/api/admin/regeneration-jobs/{id}"),
        "/api/admin/regeneration-jobs/stats".to_owned(),
    ] {
        assert_eq!(app.get(&path, Some(&reader)).await.status(), 200, "{path}");
    }
    let refused = app.trigger(&id, Some(&reader)).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"admin\""
    );
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://regen-admin.dev/problems/insufficient-scope"
    );

    // Nothing changed, as the database itself says.
    let pool = app.database.raw_pool().await;
    let row = sqlx::query("SELECT status FROM regeneration_jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "PENDING");
    let triggered: i64 = sqlx::query(
        "SELECT COUNT(*) FROM audit_events WHERE job_id = $1 AND event_type = 'REGEN_JOB_TRIGGERED'",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    assert_eq!(triggered, 0);

    // An admin-scope token of the same user may.
    assert_eq!(app.trigger(&id, Some(&app.admin_token)).await.status(), 200);
}

async fn a_read_scope_token_is_refused_outside_the_rest_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let (reader, _) = token_for(
        &app,
        "ada",
        TokenRequest {
            scope: Some(Scope::Read),
            ..TokenRequest::default()
        },
    )
    .await;
    // Pages treat it as no credential at all.
    let page = app.get("/admin/regeneration-jobs", Some(&reader)).await;
    assert_eq!(page.status(), 303);
    assert!(location(&page).starts_with("/login"));
    // The server function and the no-JS form refuse it too.
    let rpc = client()
        .post(app.url("/rpc/trigger_job"))
        .bearer_auth(&reader)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("job_id={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(rpc.status(), 401);
    let form = client()
        .post(app.url(&format!("/admin/regeneration-jobs/{id}/trigger")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 303);
    assert!(location(&form).starts_with("/login"));
    assert_eq!(app.detail(&id).await["status"], "PENDING");
}

async fn a_demotion_takes_effect_on_the_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    let jobs = app.url("/admin/regeneration-jobs");
    let list = "/api/admin/regeneration-jobs";
    let (read, _) = token_for(
        &app,
        "ada",
        TokenRequest {
            scope: Some(Scope::Read),
            ..TokenRequest::default()
        },
    )
    .await;
    assert_eq!(status_of(&browser, jobs.clone()).await, 200);
    assert_eq!(app.get(list, Some(&app.admin_token)).await.status(), 200);

    let change = app
        .service
        .set_user_role(&operator(), "ada", Role::Member)
        .await
        .unwrap();
    assert_eq!(change.previous, Role::Admin);
    assert_eq!(change.taken.sessions_ended, 1);
    assert_eq!(change.taken.tokens_revoked, 1);

    // The open session is over, the admin-scope token is revoked, and the
    // read token now speaks for a member.
    assert_eq!(status_of(&browser, jobs.clone()).await, 303);
    assert_invalid_token(&app, &app.admin_token, "demoted").await;
    assert_eq!(app.get(list, Some(&read)).await.status(), 403);
    // Promoted again: the read token works at once; the revoked admin token
    // stays revoked.
    app.service
        .set_user_role(&operator(), "ada", Role::Admin)
        .await
        .unwrap();
    assert_eq!(app.get(list, Some(&read)).await.status(), 200);
    assert_invalid_token(&app, &app.admin_token, "demoted, then promoted").await;
}

async fn disabling_ends_sessions_on_every_instance_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    let on_second = login_at(&second, "ada", PASSWORD).await;
    let jobs = format!("{second}/admin/regeneration-jobs");
    assert_eq!(status_of(&on_second, jobs.clone()).await, 200);
    let api = format!("{second}/api/admin/regeneration-jobs");
    let with_token = |token: &str| {
        client()
            .get(api.clone())
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(with_token(&app.admin_token).await.unwrap().status(), 200);

    // The first instance's service disables her.
    let ended = app
        .service
        .set_user_disabled(&operator(), "ada", true)
        .await
        .unwrap();
    assert_eq!(ended.sessions_ended, 1);

    // The very next requests to the second instance see it.
    assert_eq!(status_of(&on_second, jobs.clone()).await, 303);
    let refused = with_token(&app.admin_token).await.unwrap();
    assert_eq!(refused.status(), 401);
    let sessions: i64 = sqlx::query("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 0);
    let users = app.service.list_users(&operator()).await.unwrap();
    let ada = users.iter().find(|u| u.username == "ada").unwrap();
    assert_eq!(ada.state(), "disabled");
    assert!(ada.last_login_at.is_some());
}

async fn failed_login(base: &str, username: &str) -> u16 {
    client()
        .post(format!("{base}/login"))
        .form(&[("username", username), ("password", "wrong wrong")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn the_login_throttle_is_shared_by_instances_and_survives_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    // Three free tries for (ada, 127.0.0.1), spread over both instances…
    assert_eq!(failed_login(&app.address, "ada").await, 401);
    assert_eq!(failed_login(&second, "ada").await, 401);
    assert_eq!(failed_login(&app.address, "ada").await, 401);
    // …then the next one waits, whichever instance it reaches.
    assert_eq!(failed_login(&second, "ada").await, 429);
    assert_eq!(failed_login(&app.address, "ada").await, 429);
    let rows: i64 = sqlx::query("SELECT COUNT(*) FROM login_attempts")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 9, "three keys for each of three counted failures");

    // A restarted instance (a new process on the same database) remembers.
    let restarted = service_on(&app.database, app.journal.clone()).await;
    let refused = restarted
        .login(
            "ada",
            PASSWORD,
            regen_service::ClientInfo {
                address: "127.0.0.1",
                ..Default::default()
            },
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(regen_service::LoginFailure::Service(
                ServiceError::RateLimited { .. }
            ))
        ),
        "{refused:?}"
    );
    // Another address is not locked out.
    let elsewhere = restarted
        .login(
            "ada",
            PASSWORD,
            regen_service::ClientInfo {
                address: "10.9.8.7",
                ..Default::default()
            },
        )
        .await;
    assert!(elsewhere.is_ok(), "{elsewhere:?}");
}

async fn a_disabled_user_cannot_log_in_and_is_told_nothing_more(backend: Backend) {
    let app = spawn_app(backend).await;
    app.service
        .set_user_disabled(&operator(), "ada", true)
        .await
        .unwrap();
    let disabled = client()
        .post(app.url("/login"))
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let unknown = client()
        .post(app.url("/login"))
        .form(&[("username", "nobody"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 401);
    assert_eq!(unknown.status(), 401);
    let (a, b) = (
        disabled.text().await.unwrap(),
        unknown.text().await.unwrap(),
    );
    assert!(a.contains("Invalid user name or password."));
    assert_eq!(a, b, "the same page whether disabled or unknown");
}

async fn account_page(browser: &reqwest::Client, app: &TestApp) -> String {
    let page = browser.get(app.url("/admin/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn the_account_page_lists_sessions_and_tokens_and_signs_out_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, token_id) = token_for(
        &app,
        "ada",
        TokenRequest {
            label: Some("nightly-export".into()),
            scope: Some(Scope::Read),
            ..TokenRequest::default()
        },
    )
    .await;
    let laptop = app.browser_login("ada").await;
    let phone = login_at(&app.address, "ada", PASSWORD).await;
    let other_user = app.browser_login("mel").await;

    let html = account_page(&laptop, &app).await;
    assert!(html.contains("class=\"account-name\">ada<"), "{html}");
    assert!(html.contains("class=\"account-role\">admin<"));
    assert_eq!(html.matches("data-session=").count(), 2, "{html}");
    assert_eq!(html.matches("(this session)").count(), 1);
    assert!(html.contains("accounts-test/1.0"), "the phone's user agent");
    assert!(html.contains("nightly-export"));
    assert!(html.contains(&format!("/admin/account/tokens/{token_id}/revoke")));
    assert!(!html.contains("rga_"), "no token secret on the page");
    assert!(
        html.contains("href=\"/admin/account\""),
        "linked from the header"
    );
    assert!(
        !html.contains("type=\"module\"")
            && !html.contains(".wasm")
            && !html.contains("leptos-island"),
        "no WASM: the forms work without JavaScript"
    );

    let response = post_form(&laptop, app.url("/admin/account/sessions/end-others"), &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/account?notice=others-ended");

    let jobs = app.url("/admin/regeneration-jobs");
    assert_eq!(
        status_of(&phone, jobs.clone()).await,
        303,
        "phone signed out"
    );
    assert_eq!(status_of(&laptop, jobs.clone()).await, 200, "laptop kept");
    assert_eq!(
        status_of(&other_user, jobs.clone()).await,
        403,
        "another user's session untouched"
    );
    let html = laptop
        .get(app.url("/admin/account?notice=others-ended"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-session=").count(), 1);
    assert!(html.contains("Every other session is signed out."));
}

async fn signing_out_this_session_from_the_account_page_logs_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    let sessions = app
        .service
        .list_sessions(&operator(), Some("ada"))
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    let response = post_form(
        &browser,
        app.url(&format!("/admin/account/sessions/{}/end", sessions[0].id)),
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/login");
    assert_eq!(
        status_of(&browser, app.url("/admin/regeneration-jobs")).await,
        303
    );

    // Someone else's session id is not found from here.
    let ada = app.browser_login("ada").await;
    let mel = login_at(&app.address, "ada", PASSWORD).await;
    let _ = mel;
    let bob_session = {
        app.service
            .create_user(&operator(), "bob", Role::Admin, PASSWORD)
            .await
            .unwrap();
        let _bob = login_at(&app.address, "bob", PASSWORD).await;
        app.service
            .list_sessions(&operator(), Some("bob"))
            .await
            .unwrap()
            .remove(0)
            .id
    };
    let response = post_form(
        &ada,
        app.url(&format!("/admin/account/sessions/{bob_session}/end")),
        &[],
    )
    .await;
    assert_eq!(location(&response), "/admin/account?notice=already-done");
    assert_eq!(
        app.service
            .list_sessions(&operator(), Some("bob"))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn revoking_a_token_on_the_account_page_stops_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    let html = account_page(&browser, &app).await;
    let tokens = app
        .service
        .list_api_tokens(&operator(), Some("ada"))
        .await
        .unwrap();
    let id = &tokens[0].id;
    assert!(html.contains(&format!("/admin/account/tokens/{id}/revoke")));

    // Another admin's token cannot be revoked from this account.
    let mel_tokens = app
        .service
        .list_api_tokens(&operator(), Some("mel"))
        .await
        .unwrap();
    let response = post_form(
        &browser,
        app.url(&format!(
            "/admin/account/tokens/{}/revoke",
            mel_tokens[0].id
        )),
        &[],
    )
    .await;
    assert_eq!(location(&response), "/admin/account?notice=already-done");

    let response = post_form(
        &browser,
        app.url(&format!("/admin/account/tokens/{id}/revoke")),
        &[],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/admin/account?notice=token-revoked");
    assert_invalid_token(&app, &app.admin_token, "revoked on the page").await;
    let html = account_page(&browser, &app).await;
    assert!(html.contains("class=\"token-state\">revoked<"), "{html}");
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let here = app.browser_login("ada").await;
    let elsewhere = login_at(&app.address, "ada", PASSWORD).await;
    let new_password = "a brand new passphrase";
    let response = post_form(
        &here,
        app.url("/admin/account/password"),
        &[
            ("currentPassword", PASSWORD),
            ("newPassword", new_password),
            ("repeatPassword", new_password),
        ],
    )
    .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        "/admin/account?notice=password-changed"
    );

    let jobs = app.url("/admin/regeneration-jobs");
    assert_eq!(
        status_of(&here, jobs.clone()).await,
        200,
        "this session stays"
    );
    assert_eq!(status_of(&elsewhere, jobs.clone()).await, 303, "others end");
    let old = client()
        .post(app.url("/login"))
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the old password is gone");
    login_at(&app.address, "ada", new_password).await;
}

async fn a_password_change_revokes_the_api_tokens_when_the_box_is_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    let page = account_page(&browser, &app).await;
    assert!(
        page.contains(r#"<input type="checkbox" name="revokeTokens" value="on" checked"#),
        "the box is offered, checked: {page}"
    );
    let (kept, _) = token_for(&app, "ada", TokenRequest::default()).await;
    let change = |new: &'static str, box_checked: bool| {
        let browser = browser.clone();
        let url = app.url("/admin/account/password");
        async move {
            let mut fields = vec![
                ("currentPassword", PASSWORD),
                ("newPassword", new),
                ("repeatPassword", new),
            ];
            if box_checked {
                fields.push(("revokeTokens", "on"));
            }
            post_form(&browser, url, &fields).await
        }
    };

    // Unchecked (or a script that leaves the field out): tokens stay.
    let response = change(PASSWORD, false).await;
    assert_eq!(
        location(&response),
        "/admin/account?notice=password-changed"
    );
    assert_eq!(
        app.get("/api/admin/regeneration-jobs", Some(&kept))
            .await
            .status(),
        200
    );

    // Checked: every token of the user is revoked with the change.
    let response = change(PASSWORD, true).await;
    assert_eq!(
        location(&response),
        "/admin/account?notice=password-changed-tokens-revoked"
    );
    assert_invalid_token(&app, &kept, "password changed, box checked").await;
    assert_invalid_token(&app, &app.admin_token, "password changed, box checked").await;
}

async fn a_wrong_current_password_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let here = app.browser_login("ada").await;
    let elsewhere = login_at(&app.address, "ada", PASSWORD).await;
    let hash_before: String = sqlx::query("SELECT password_hash FROM users WHERE username = 'ada'")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap()
        .get(0);
    for (form, notice, field, message) in [
        (
            [
                ("currentPassword", "not my password"),
                ("newPassword", "a brand new passphrase"),
                ("repeatPassword", "a brand new passphrase"),
            ],
            "wrong-current-password",
            "currentPassword-error",
            "The current password is not correct.",
        ),
        (
            [
                ("currentPassword", PASSWORD),
                ("newPassword", "a brand new passphrase"),
                ("repeatPassword", "a different passphrase"),
            ],
            "passwords-differ",
            "repeatPassword-error",
            "The new passwords do not match.",
        ),
        (
            [
                ("currentPassword", PASSWORD),
                ("newPassword", "short"),
                ("repeatPassword", "short"),
            ],
            "weak-password",
            "newPassword-error",
            "The new password must be 8 to 1024 characters.",
        ),
        (
            [
                ("currentPassword", PASSWORD),
                ("newPassword", "        "),
                ("repeatPassword", "        "),
            ],
            "whitespace-password",
            "newPassword-error",
            "The new password must not be only spaces.",
        ),
        (
            [
                ("currentPassword", PASSWORD),
                ("newPassword", "Sunshine"),
                ("repeatPassword", "Sunshine"),
            ],
            "common-password",
            "newPassword-error",
            "The new password is one of the 10,000 most common passwords.",
        ),
    ] {
        let response = post_form(&here, app.url("/admin/account/password"), &form).await;
        assert_eq!(
            location(&response),
            format!("/admin/account?notice={notice}")
        );
        let page = here
            .get(app.url(&format!("/admin/account?notice={notice}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(&format!("id=\"{field}\"")),
            "{notice}: {page}"
        );
        assert!(page.contains(message), "{notice}: {page}");
    }
    let hash_after: String = sqlx::query("SELECT password_hash FROM users WHERE username = 'ada'")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap()
        .get(0);
    assert_eq!(hash_before, hash_after);
    assert_eq!(
        status_of(&elsewhere, app.url("/admin/regeneration-jobs")).await,
        200
    );
}

async fn account_forms_refuse_cross_site_posts(backend: Backend) {
    let app = spawn_app(backend).await;
    let here = app.browser_login("ada").await;
    let elsewhere = login_at(&app.address, "ada", PASSWORD).await;
    for path in [
        "/admin/account/sessions/end-others".to_owned(),
        "/admin/account/password".to_owned(),
    ] {
        let response = here
            .post(app.url(&path))
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://evil.example")
            .form(&[
                ("currentPassword", PASSWORD),
                ("newPassword", "attacker chosen 123"),
                ("repeatPassword", "attacker chosen 123"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
    assert_eq!(
        status_of(&elsewhere, app.url("/admin/regeneration-jobs")).await,
        200
    );
    login_at(&app.address, "ada", PASSWORD).await;
}

async fn security_events_are_counted(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            metrics: true,
            ..Options::default()
        },
    )
    .await;
    let count = |text: &str, event: &str| {
        crate::helpers::sample(
            text,
            &format!("regen_security_events_total{{event=\"{event}\"}}"),
        )
    };
    let before = app.private_metrics().await;
    let browser = app.browser_login("ada").await;
    assert_eq!(failed_login(&app.address, "ada").await, 401);
    post_form(&browser, app.url("/logout"), &[]).await;
    let (_, id) = token_for(&app, "mel", TokenRequest::default()).await;
    app.service
        .revoke_api_token(&operator(), &id)
        .await
        .unwrap();
    app.service
        .set_user_role(&operator(), "mel", Role::Admin)
        .await
        .unwrap();
    app.service
        .set_user_disabled(&operator(), "mel", true)
        .await
        .unwrap();
    app.service
        .set_user_disabled(&operator(), "mel", false)
        .await
        .unwrap();
    let after = app.private_metrics().await;
    for (event, more) in [
        ("login_success", 1.0),
        ("login_failure", 1.0),
        ("logout", 1.0),
        ("token_create", 1.0),
        ("token_revoke", 1.0),
        ("role_change", 1.0),
        ("user_disable", 1.0),
        ("user_enable", 1.0),
        ("password_change", 0.0),
        ("session_revoke", 0.0),
    ] {
        assert_eq!(
            count(&after, event) - count(&before, event),
            more,
            "{event}"
        );
    }
}
