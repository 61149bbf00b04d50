//! Authentication, authorisation and browser security.

use regen_domain::JobStatus;
use regen_storage::Backend;
use sqlx::Row;

use crate::helpers::{
    client, spawn_app, spawn_app_with, spawn_second_instance, Options, TestApp, PASSWORD,
};

both_backends!(
    every_route_answers_each_role_as_the_matrix_says,
    every_server_function_refuses_anonymous_and_members,
    login_sets_a_strict_http_only_session_cookie_and_redirects_to_next,
    wrong_credentials_get_one_generic_message,
    login_rotates_the_session,
    logout_ends_the_session,
    an_idle_session_sends_the_browser_back_to_login,
    cross_site_posts_with_a_session_cookie_are_refused_and_change_nothing,
    same_origin_posts_with_a_session_cookie_are_allowed,
    tokens_are_stored_only_as_hashes,
    html_pages_carry_a_csp_whose_nonce_matches_their_scripts,
    login_attempts_are_rate_limited,
    a_browser_that_logged_in_before_gets_in_from_an_address_over_its_budget,
    a_forged_altered_or_other_users_device_cookie_does_not_lift_the_throttle,
);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Member,
}

/// (method, path, anonymous, member, admin) expected statuses.
fn matrix(pending: &str, other: &str) -> Vec<(&'static str, String, u16, u16, u16)> {
    vec![
        ("GET", "/api/admin/regeneration-jobs".into(), 401, 403, 200),
        ("HEAD", "/api/admin/regeneration-jobs".into(), 401, 403, 200),
        (
            "GET",
            format!("/api/admin/regeneration-jobs/{pending}"),
            401,
            403,
            200,
        ),
        (
            "POST",
            format!("/api/admin/regeneration-jobs/{other}/trigger"),
            401,
            403,
            200,
        ),
        ("GET", "/api/openapi.json".into(), 401, 403, 200),
        (
            "GET",
            "/api/admin/regeneration-jobs/stats".into(),
            401,
            403,
            200,
        ),
        ("GET", "/api/unknown".into(), 401, 403, 404),
        ("GET", "/admin/regeneration-jobs".into(), 303, 403, 200),
        (
            "GET",
            format!("/admin/regeneration-jobs/{pending}"),
            303,
            403,
            200,
        ),
        (
            "GET",
            "/admin/regeneration-jobs/01934b6e-0000-7000-8000-000000000000".into(),
            303,
            403,
            404,
        ),
        (
            "POST",
            format!("/admin/regeneration-jobs/{pending}/trigger"),
            303,
            403,
            303,
        ),
        ("GET", "/admin/anything-else".into(), 303, 403, 404),
        ("GET", "/metrics".into(), 401, 403, 200),
        ("GET", "/healthz".into(), 200, 200, 200),
        ("GET", "/readyz".into(), 200, 200, 200),
        ("GET", "/login".into(), 200, 200, 303),
        ("GET", "/".into(), 303, 303, 303),
    ]
}

async fn every_route_answers_each_role_as_the_matrix_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let pending = app.insert_job(JobStatus::Pending).await;
    let other = app.insert_job(JobStatus::Pending).await;
    let admin = app.browser_login("ada").await;
    let member = app.browser_login("mel").await;
    let anonymous = client();
    let before = app.snapshot().await;
    let mut failures = Vec::new();
    // One request as a browser on this site would send it.
    let status_of = |client: &reqwest::Client, method: &str, path: &str| {
        let request = client
            .request(method.parse().unwrap(), app.url(path))
            .header("sec-fetch-site", "same-origin");
        async move { request.send().await.unwrap().status().as_u16() }
    };
    for who in [Who::Anonymous, Who::Member] {
        for (method, path, anon, mem, _) in matrix(&pending, &other) {
            let (client, expected) = match who {
                Who::Anonymous => (&anonymous, anon),
                _ => (&member, mem),
            };
            let status = status_of(client, method, &path).await;
            if status != expected {
                failures.push(format!(
                    "{who:?} {method} {path}: {status}, expected {expected}"
                ));
            }
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "nothing changes for anonymous or members"
    );
    for (method, path, _, _, expected) in matrix(&pending, &other) {
        let status = status_of(&admin, method, &path).await;
        if status != expected {
            failures.push(format!(
                "Admin {method} {path}: {status}, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    let with_member_token = app
        .get("/api/admin/regeneration-jobs", Some(&app.member_token))
        .await;
    assert_eq!(
        with_member_token.status(),
        403,
        "a member's API token is refused too"
    );
}

async fn every_server_function_refuses_anonymous_and_members(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let member = app.browser_login("mel").await;
    let paths: Vec<_> = leptos::server_fn::axum::server_fn_paths().collect();
    assert!(!paths.is_empty());
    for (path, _method) in paths {
        let anonymous = client()
            .post(app.url(path))
            .form(&[("job_id", id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401, "anonymous {path}");
        let as_member = member
            .post(app.url(path))
            .header("sec-fetch-site", "same-origin")
            .form(&[("job_id", id.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(as_member.status(), 403, "member {path}");
    }
    assert_eq!(app.detail(&id).await["status"], "PENDING");
}

async fn login_sets_a_strict_http_only_session_cookie_and_redirects_to_next(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = client()
        .post(app.url("/login"))
        .form(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("next", "/admin/regeneration-jobs?status=PENDING"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/admin/regeneration-jobs?status=PENDING"
    );
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on 127.0.0.1 must keep working: {cookie}"
    );

    let evil = client()
        .post(app.url("/login"))
        .form(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.headers()["location"], "/admin/regeneration-jobs");

    // A header the client chooses does not make the cookie Secure…
    let forged_https = client()
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(!forged_https.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
    // …the configured https origin does, and turns on HSTS.
    let https = spawn_app_with(
        backend,
        Options {
            public_origin: Some("https://regen.example".into()),
            ..Options::default()
        },
    )
    .await;
    let behind_https = client()
        .post(https.url("/login"))
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(behind_https.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Secure"));
    assert_eq!(
        behind_https.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

async fn wrong_credentials_get_one_generic_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bodies = Vec::new();
    for (user, password) in [("ada", "wrong password"), ("nobody", PASSWORD)] {
        let response = client()
            .post(app.url("/login"))
            .form(&[("username", user), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().get("set-cookie").is_none());
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies[0].contains("Invalid user name or password."));
    assert_eq!(
        bodies[0].len(),
        bodies[1].len(),
        "no hint of which part was wrong"
    );
}

async fn login_rotates_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.browser_login("ada").await;
    let cookie_of = |response: &reqwest::Response| {
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let again = first
        .post(app.url("/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let new_cookie = cookie_of(&again);
    let old_secret_is_dead = {
        let sessions: Vec<(String,)> = sqlx::query_as("SELECT id_hash FROM sessions")
            .fetch_all(&app.database.raw_pool().await)
            .await
            .unwrap();
        sessions.len()
    };
    assert_eq!(
        old_secret_is_dead, 1,
        "the pre-login session is deleted at login"
    );
    let fresh = client();
    let page = fresh
        .get(app.url("/admin/regeneration-jobs"))
        .header("cookie", new_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}

async fn logout_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;

    let response = browser
        .post(app.url("/logout"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    let page = browser
        .get(app.url("/admin/regeneration-jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM sessions")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
}

async fn an_idle_session_sends_the_browser_back_to_login(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            idle_secs: 1,
            ..Options::default()
        },
    )
    .await;
    let browser = app.browser_login("ada").await;
    assert_eq!(
        browser
            .get(app.url("/admin/regeneration-jobs"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let page = browser
        .get(app.url("/admin/regeneration-jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        "/login?next=%2Fadmin%2Fregeneration-jobs"
    );
}

async fn cross_site_posts_with_a_session_cookie_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;
    let before = app.snapshot().await;
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ] {
        for path in [
            format!("/api/admin/regeneration-jobs/{id}/trigger"),
            format!("/admin/regeneration-jobs/{id}/trigger"),
            "/rpc/trigger_job".to_owned(),
        ] {
            let response = browser
                .post(app.url(&path))
                .header(header, value)
                .form(&[("job_id", id.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{header}: {value} {path}");
        }
    }
    assert_eq!(app.snapshot().await, before);
}

async fn same_origin_posts_with_a_session_cookie_are_allowed(backend: Backend) {
    let app = spawn_app(backend).await;
    let browser = app.browser_login("ada").await;
    let host = app.address.trim_start_matches("http://").to_owned();
    for (header, value) in [
        ("sec-fetch-site", "same-origin".to_owned()),
        ("origin", format!("http://{host}")),
        ("x-no-browser", "1".to_owned()),
    ] {
        let id = app.insert_job(JobStatus::Pending).await;
        let response = browser
            .post(app.url(&format!("/api/admin/regeneration-jobs/{id}/trigger")))
            .header(header, value.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{header}: {value}");
    }
}

async fn tokens_are_stored_only_as_hashes(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.admin_token.starts_with("rga_") && app.admin_token.len() > 40);
    app.get("/api/admin/regeneration-jobs", Some(&app.admin_token))
        .await;
    let rows = sqlx::query("SELECT token_hash, last_used_at FROM api_tokens")
        .fetch_all(&app.database.raw_pool().await)
        .await
        .unwrap();
    let mut used = 0;
    for row in rows {
        let hash: String = row.get(0);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&app.admin_token[4..]));
        let last_used: Option<String> = row.get(1);
        used += last_used.is_some() as usize;
    }
    assert_eq!(used, 1, "last use is recorded");
    let text = app.snapshot().await.join("\n");
    assert!(!text.contains(&app.admin_token) && !text.contains(&app.admin_token[4..]));
    assert_eq!(
        app.get("/api/admin/regeneration-jobs", Some("rga_forged"))
            .await
            .status(),
        401
    );
}

async fn html_pages_carry_a_csp_whose_nonce_matches_their_scripts(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    let browser = app.browser_login("ada").await;
    let response = browser
        .get(app.url(&format!("/admin/regeneration-jobs/{id}")))
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "'strict-dynamic'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("script-src 'unsafe-inline'"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "every script carries the nonce"
    );
    let other = browser
        .get(app.url(&format!("/admin/regeneration-jobs/{id}")))
        .send()
        .await
        .unwrap();
    assert!(
        !other.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains(&nonce),
        "fresh nonce per response"
    );
}

async fn login_attempts_are_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    // Guesses sent all at once are counted before their passwords are checked.
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let request = client()
                .post(app.url("/login"))
                .form(&[("username", "mel"), ("password", "guess guess")]);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut checked = 0;
    for task in burst {
        if task.await.unwrap() == 401 {
            checked += 1;
        }
    }
    assert!(checked <= 10, "{checked} passwords checked in one burst");
    let mut last = 0;
    for _ in 0..11 {
        last = client()
            .post(app.url("/login"))
            .form(&[("username", "ada"), ("password", "nope nope")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
    let right_password = client()
        .post(app.url("/login"))
        .form(&[("username", "ada"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        right_password.status(),
        429,
        "blocked even with the right password while throttled"
    );
}

/// Where every client of an office reaches the server from, through the proxy.
const OFFICE: &str = "203.0.113.9";

fn behind_a_proxy() -> Options {
    Options {
        client_ip_header: Some("x-forwarded-for".into()),
        ..Options::default()
    }
}

async fn login_from(
    app: &TestApp,
    browser: &reqwest::Client,
    from: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    browser
        .post(app.url("/login"))
        .header("x-forwarded-for", from)
        .header("sec-fetch-site", "same-origin")
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Ten failed logins with made-up names: the address's budget is spent.
async fn spend_the_budget_of(app: &TestApp, from: &str) {
    for n in 0..10 {
        let name = format!("guess-{n}-{}", uuid::Uuid::new_v4());
        let failed = login_from(app, &client(), from, &name, "wrong password").await;
        assert_eq!(failed.status(), 401);
    }
}

/// The Set-Cookie line that gives the browser its device cookie.
fn device_set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("regen_device="))
        .expect("a device cookie")
}

fn device_cookie_value(response: &reqwest::Response) -> String {
    let line = device_set_cookie(response);
    let pair = line.split(';').next().unwrap();
    pair.trim_start_matches("regen_device=").to_owned()
}

async fn a_browser_that_logged_in_before_gets_in_from_an_address_over_its_budget(backend: Backend) {
    let app = spawn_app_with(backend, behind_a_proxy()).await;
    let users_browser = client();
    let earlier = login_from(&app, &users_browser, OFFICE, "ada", PASSWORD).await;
    assert_eq!(earlier.status(), 303);
    let set_cookie = device_set_cookie(&earlier);
    spend_the_budget_of(&app, OFFICE).await;

    let new_browser = login_from(&app, &client(), OFFICE, "ada", PASSWORD).await;
    let known_browser = login_from(&app, &users_browser, OFFICE, "ada", PASSWORD).await;

    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/login",
        "Max-Age=31536000",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert_eq!(
        new_browser.status(),
        429,
        "no device cookie: still throttled"
    );
    assert_eq!(
        known_browser.status(),
        303,
        "the device cookie of an earlier login lets its user in"
    );
}

async fn a_forged_altered_or_other_users_device_cookie_does_not_lift_the_throttle(
    backend: Backend,
) {
    let app = spawn_app_with(backend, behind_a_proxy()).await;
    let home = "198.51.100.20";
    let ada_cookie = device_cookie_value(&login_from(&app, &client(), home, "ada", PASSWORD).await);
    let mel_cookie = device_cookie_value(&login_from(&app, &client(), home, "mel", PASSWORD).await);
    spend_the_budget_of(&app, OFFICE).await;
    let (signed, tag) = ada_cookie.rsplit_once('.').unwrap();
    let altered_tag = format!("{signed}.{}", tag.replace(|c: char| c != 'A', "A"));
    let (ada_id, ada_rest) = ada_cookie.split_once('.').unwrap();
    let (mel_id, mel_rest) = mel_cookie.split_once('.').unwrap();
    let mel_renamed_ada = format!("{ada_id}.{mel_rest}");
    let other_nonce = format!("{ada_id}.x{ada_rest}");
    let with_cookie = |cookie: String| {
        let request = client()
            .post(app.url("/login"))
            .header("x-forwarded-for", OFFICE)
            .header("cookie", format!("regen_device={cookie}"))
            .form(&[("username", "ada"), ("password", PASSWORD)]);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_ne!(ada_id, mel_id);

    let mut refused = Vec::new();
    for cookie in [
        mel_cookie.clone(),
        altered_tag,
        mel_renamed_ada,
        other_nonce,
        format!("{ada_id}.forged.tag"),
    ] {
        refused.push(with_cookie(cookie).await);
    }
    let genuine = with_cookie(ada_cookie).await;

    assert_eq!(refused, [429; 5]);
    assert_eq!(genuine, 303, "only ada's own, unaltered cookie lets ada in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_logins_are_throttled_per_forwarded_client() {
    let options = Options {
        client_ip_header: Some("x-forwarded-for".into()),
        ..Options::default()
    };
    let app = spawn_app_with(Backend::Sqlite, options).await;
    let attempt = |forwarded: &'static str, user: &'static str, password: &'static str| {
        client()
            .post(app.url("/login"))
            .header("x-forwarded-for", forwarded)
            .form(&[("username", user), ("password", password)])
            .send()
    };
    for n in 0..10 {
        let user = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"][n];
        attempt("spoofed, 203.0.113.7", user, "wrong password")
            .await
            .unwrap();
    }

    let same_client = attempt("203.0.113.7", "ada", PASSWORD).await.unwrap();
    let other_client = attempt("198.51.100.1", "ada", PASSWORD).await.unwrap();

    assert_eq!(
        same_client.status(),
        429,
        "the right-most address is the client"
    );
    assert_eq!(
        other_client.status(),
        303,
        "other clients behind the proxy are not locked out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_one_instance_is_accepted_by_another_on_the_same_postgres() {
    let app = spawn_app(Backend::Postgres).await;
    let (second, _stop) = spawn_second_instance(&app).await;
    let browser = app.browser_login("ada").await;

    let page = browser
        .get(format!("{second}/admin/regeneration-jobs"))
        .send()
        .await
        .unwrap();

    assert_eq!(page.status(), 200);
}
