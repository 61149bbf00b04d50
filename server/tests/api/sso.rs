//! Sign-in through a real OpenID provider (issue 35): `oidc-provider`, a
//! certified implementation, run by node from `end2end/oidc/provider.mjs`
//! on loopback, driven through its `/__test/` control API. The browser here
//! is an HTTP client that keeps cookies and follows each redirect by hand.

use std::time::Duration;

use regen_domain::Scope;
use regen_service::Operator;
use regen_storage::Backend;
use reqwest::{Response, StatusCode};
use serde_json::json;
use server::config::SsoConfig;
use sqlx::Row;

use crate::helpers::{spawn_app_with, Options, TestApp};
use regen_oidc::testing::{unused_port, TestProvider, CLIENT_ID, CLIENT_SECRET};

both_backends!(
    an_admin_signs_in_through_the_provider_and_lands_on_next,
    a_non_member_is_refused_and_gets_neither_an_account_nor_a_session,
    losing_the_group_demotes_the_account_and_ends_its_sessions_and_tokens_at_the_next_sign_in,
    a_local_account_and_an_sso_account_of_one_name_stay_apart,
    logout_ends_the_session_and_sends_the_browser_to_the_providers_end_session_endpoint,
);

pub fn sso_config(issuer: &str) -> SsoConfig {
    SsoConfig {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(CLIENT_SECRET.into()),
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        admin_claim: "groups".into(),
        admin_values: vec!["regen-admins".into()],
        username_claim: "preferred_username".into(),
        provider_name: "Test IdP".into(),
        max_session: Duration::from_secs(12 * 3600),
        retry_interval: Duration::from_secs(1),
    }
}

pub async fn app_with_provider(backend: Backend, provider: &TestProvider) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            sso: Some(sso_config(&provider.issuer)),
            ..Options::default()
        },
    )
    .await
}

/// A browser: keeps cookies, follows nothing by itself.
pub struct Browser {
    pub client: reqwest::Client,
    app: String,
}

pub const NEXT: &str = "/admin/regeneration-jobs?status=PENDING";

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            app: app.address.clone(),
        }
    }

    pub async fn get(&self, path_or_url: &str) -> Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.app)
        };
        self.client.get(url).send().await.unwrap()
    }

    /// Presses "Sign in with Test IdP" and follows the redirects through
    /// the provider (signing in there as `user`) up to regen-admin's
    /// callback URL, which it returns without calling.
    pub async fn callback_url_for(&self, provider: &TestProvider, user: &str) -> String {
        provider.auto_login(user).await;
        let start = self
            .get(&format!("/auth/oidc/start?next={}", urlencode(NEXT)))
            .await;
        assert_eq!(start.status(), StatusCode::SEE_OTHER, "{start:?}");
        let mut url = location(&start);
        assert!(url.starts_with(&provider.issuer), "{url}");
        for _ in 0..10 {
            if url.starts_with(&format!("{}/auth/oidc/callback", self.app)) {
                return url;
            }
            let response = self.get(&url).await;
            assert!(
                response.status().is_redirection(),
                "{url}: {:?} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
            url = location(&response);
        }
        panic!("the provider never sent the browser back: {url}");
    }

    /// Signs in through the provider; regen-admin's answer to the callback.
    pub async fn sign_in(&self, provider: &TestProvider, user: &str) -> Response {
        let callback = self.callback_url_for(provider, user).await;
        self.get(&callback).await
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A redirect's target, made absolute against the URL it answered.
fn location(response: &Response) -> String {
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location: {response:?}"))
        .to_str()
        .unwrap();
    response.url().join(location).unwrap().to_string()
}

async fn sso_user(app: &TestApp, subject: &str) -> Option<(String, String, String)> {
    let row = sqlx::query("SELECT username, role, oidc_issuer FROM users WHERE oidc_subject = $1")
        .bind(subject)
        .fetch_optional(&app.database.raw_pool().await)
        .await
        .unwrap()?;
    Some((
        row.try_get("username").unwrap(),
        row.try_get("role").unwrap(),
        row.try_get("oidc_issuer").unwrap(),
    ))
}

async fn sessions_of(app: &TestApp, username: &str) -> Vec<Option<String>> {
    sqlx::query(
        "SELECT s.id_token FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1",
    )
    .bind(username)
    .fetch_all(&app.database.raw_pool().await)
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get("id_token").unwrap())
    .collect()
}

async fn an_admin_signs_in_through_the_provider_and_lands_on_next(backend: Backend) {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(backend, &provider).await;
    let browser = Browser::new(&app);

    let login = browser
        .get(&format!("/login?next={}", urlencode(NEXT)))
        .await;
    let page = login.text().await.unwrap();
    assert!(page.contains("Sign in with"), "{page}");
    assert!(page.contains("Test IdP"), "{page}");
    assert!(
        page.contains("name=\"password\""),
        "password login stays on by default"
    );

    let start = browser
        .get(&format!("/auth/oidc/start?next={}", urlencode(NEXT)))
        .await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let cookie = start.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("regen_oidc="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let authorize = url::Url::parse(&location(&start)).unwrap();
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "regen-admin");
    assert_eq!(
        query["redirect_uri"],
        format!("{}/auth/oidc/callback", app.address)
    );
    for parameter in ["state", "nonce", "code_challenge"] {
        assert!(query[parameter].len() >= 16, "{parameter}: {query:?}");
    }
    // The state, nonce and verifier are in the database, never in a cookie.
    assert!(!cookie.contains(&query["state"]));

    let landed = browser.sign_in(&provider, "alice").await;
    assert_eq!(landed.status(), StatusCode::OK);
    let cookies: Vec<String> = landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("regen_session=") && c.contains("SameSite=Strict")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("regen_oidc=;")
            || c.starts_with("regen_oidc=\"\"")
            || (c.starts_with("regen_oidc=") && c.contains("Max-Age=0"))),
        "the sign-in cookie is cleared: {cookies:?}"
    );
    let page = landed.text().await.unwrap();
    assert!(
        page.contains(&format!("content=\"0;url={}\"", NEXT.replace('&', "&amp;"))),
        "the browser moves on to next: {page}"
    );

    let list = browser.get(NEXT).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.text().await.unwrap().contains("alice"));

    let (username, role, issuer) = sso_user(&app, "sub-alice-0001").await.unwrap();
    assert_eq!((username.as_str(), role.as_str()), ("alice", "admin"));
    assert_eq!(issuer, provider.issuer);
    let sessions = sessions_of(&app, "alice").await;
    assert_eq!(sessions.len(), 1);
    assert!(
        sessions[0]
            .as_deref()
            .is_some_and(|t| t.split('.').count() == 3),
        "the ID token is kept server-side for logout: {sessions:?}"
    );
}

async fn a_non_member_is_refused_and_gets_neither_an_account_nor_a_session(backend: Backend) {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(backend, &provider).await;
    let browser = Browser::new(&app);

    let refused = browser.sign_in(&provider, "bob").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("regen_session=")));
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("your account is not in an admin group"),
        "{page}"
    );
    assert!(!page.contains("eyJ"), "no token is echoed: {page}");

    assert_eq!(sso_user(&app, "sub-bob-0002").await, None);
    let list = browser.get(NEXT).await;
    assert_eq!(list.status(), StatusCode::SEE_OTHER, "still signed out");
}

async fn losing_the_group_demotes_the_account_and_ends_its_sessions_and_tokens_at_the_next_sign_in(
    backend: Backend,
) {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(backend, &provider).await;
    let first = Browser::new(&app);
    assert_eq!(
        first.sign_in(&provider, "alice").await.status(),
        StatusCode::OK
    );
    let token = app
        .service
        .create_api_token(
            &Operator::command_line(),
            "alice",
            regen_service::TokenRequest {
                scope: Some(Scope::Read),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .token;
    let api = |token: String| {
        let address = app.address.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{address}/api/admin/regeneration-jobs"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(token.clone()).await, StatusCode::OK);

    provider.set_groups("alice", &["staff"]).await;
    let second = Browser::new(&app);
    assert_eq!(
        second.sign_in(&provider, "alice").await.status(),
        StatusCode::FORBIDDEN
    );
    let (_, role, _) = sso_user(&app, "sub-alice-0001").await.unwrap();
    assert_eq!(role, "member");
    assert!(sessions_of(&app, "alice").await.is_empty());
    assert_eq!(
        first.get(NEXT).await.status(),
        StatusCode::SEE_OTHER,
        "the first browser's session ended"
    );
    assert_eq!(
        api(token.clone()).await,
        StatusCode::UNAUTHORIZED,
        "the token was revoked"
    );

    // Back in the group: an admin again at the next sign-in, but the revoked
    // token stays revoked.
    provider.set_groups("alice", &["regen-admins"]).await;
    assert_eq!(
        second.sign_in(&provider, "alice").await.status(),
        StatusCode::OK
    );
    assert_eq!(second.get(NEXT).await.status(), StatusCode::OK);
    assert_eq!(sso_user(&app, "sub-alice-0001").await.unwrap().1, "admin");
    assert_eq!(api(token).await, StatusCode::UNAUTHORIZED);
}

async fn a_local_account_and_an_sso_account_of_one_name_stay_apart(backend: Backend) {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(backend, &provider).await;
    app.service
        .create_user(
            &Operator::command_line(),
            "admin",
            regen_domain::Role::Admin,
            crate::helpers::PASSWORD,
        )
        .await
        .unwrap();
    let browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(&provider, "admin").await.status(),
        StatusCode::OK
    );
    let (username, role, _) = sso_user(&app, "sub-admin-0004").await.unwrap();
    assert_eq!((username.as_str(), role.as_str()), ("admin-sso", "admin"));

    // Neither name logs in to the other account with a password: the SSO
    // account has none.
    let password_login = |username: &'static str| {
        let address = app.address.clone();
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(format!("{address}/login"))
                .header("sec-fetch-site", "same-origin")
                .form(&[
                    ("username", username),
                    ("password", crate::helpers::PASSWORD),
                    ("next", "/"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(password_login("admin").await, StatusCode::SEE_OTHER);
    assert_eq!(password_login("admin-sso").await, StatusCode::UNAUTHORIZED);

    let users = app
        .service
        .list_users(&Operator::command_line())
        .await
        .unwrap();
    let origin = |name: &str| users.iter().find(|u| u.username == name).unwrap().origin();
    assert_eq!(origin("admin"), "local");
    assert_eq!(origin("admin-sso"), format!("oidc:{}", provider.issuer));
}

async fn logout_ends_the_session_and_sends_the_browser_to_the_providers_end_session_endpoint(
    backend: Backend,
) {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(backend, &provider).await;
    let browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(&provider, "alice").await.status(),
        StatusCode::OK
    );
    let id_token = sessions_of(&app, "alice").await[0].clone().unwrap();

    let logout = browser
        .client
        .post(format!("{}/logout", app.address))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let page = logout.text().await.unwrap();
    let refresh = page
        .split("content=\"0;url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("a refresh to the provider: {page}"))
        .replace("&amp;", "&");
    let end_session = url::Url::parse(&refresh).unwrap();
    assert!(refresh.starts_with(&provider.issuer), "{refresh}");
    let query: std::collections::HashMap<_, _> = end_session.query_pairs().into_owned().collect();
    assert_eq!(query["id_token_hint"], id_token);
    assert_eq!(
        query["post_logout_redirect_uri"],
        format!("{}/login", app.address)
    );
    assert_eq!(query["client_id"], "regen-admin");
    assert!(sessions_of(&app, "alice").await.is_empty());
    assert_eq!(browser.get(NEXT).await.status(), StatusCode::SEE_OTHER);

    let at_provider = browser.get(&refresh).await;
    assert!(
        at_provider.status().is_success() || at_provider.status().is_redirection(),
        "{at_provider:?}"
    );
    let recorded = provider.end_sessions().await;
    let recorded = recorded.as_array().unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["id_token_hint"], json!(true));
}

/// The answer to a failed sign-in: the login page, one message, no token.
async fn assert_sign_in_failed(response: Response) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("regen_session=")));
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign-in failed. Please try again."), "{page}");
    assert!(!page.contains("eyJ"), "no token is echoed: {page}");
}

fn with_query(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_replayed_or_foreign_state_is_refused() {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(Backend::Sqlite, &provider).await;
    let browser = Browser::new(&app);

    let callback = browser.callback_url_for(&provider, "alice").await;
    // Tampered: no such sign-in (and the real one is untouched).
    assert_sign_in_failed(
        browser
            .get(&with_query(
                &callback,
                "state",
                "forged-state-value-0123456789",
            ))
            .await,
    )
    .await;
    // From another browser, which lacks the sign-in cookie.
    let other = Browser::new(&app);
    let stolen = browser.callback_url_for(&provider, "alice").await;
    assert_sign_in_failed(other.get(&stolen).await).await;
    assert_sign_in_failed(browser.get(&stolen).await).await;
    // The right browser, once; the same return again is a replay.
    let callback = browser.callback_url_for(&provider, "alice").await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::OK);
    let replay = Browser::new(&app);
    assert_sign_in_failed(replay.get(&callback).await).await;
    assert_sign_in_failed(browser.get(&callback).await).await;
    // The provider saying no, and a return with no code.
    let callback = browser.callback_url_for(&provider, "alice").await;
    let state = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    assert_sign_in_failed(
        browser
            .get(&format!(
                "/auth/oidc/callback?error=access_denied&state={state}"
            ))
            .await,
    )
    .await;
    assert_sign_in_failed(browser.get("/auth/oidc/callback").await).await;
    assert_sign_in_failed(browser.get("/auth/oidc/callback?state=%FF%FE&code=").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_that_fails_any_check_is_refused_and_makes_no_account() {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(Backend::Sqlite, &provider).await;
    for tamper in [
        "audience",
        "nonce",
        "expired",
        "issued-in-future",
        "issuer",
        "signature",
        "azp",
    ] {
        provider.tamper_next_id_token(tamper).await;
        let browser = Browser::new(&app);
        let answer = browser.sign_in(&provider, "alice").await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{tamper}");
        assert_sign_in_failed(answer).await;
    }
    assert_eq!(sso_user(&app, "sub-alice-0001").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_at_the_provider_is_fetched_and_the_sign_in_succeeds() {
    let provider = TestProvider::spawn().await;
    let app = app_with_provider(Backend::Sqlite, &provider).await;
    let browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(&provider, "alice").await.status(),
        StatusCode::OK
    );
    provider.rotate_keys().await;
    let browser = Browser::new(&app);
    assert_eq!(
        browser.sign_in(&provider, "alice").await.status(),
        StatusCode::OK,
        "a new kid makes the keys be fetched again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_answers_503_while_the_provider_is_down_and_works_once_it_is_back() {
    let port = unused_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let app = spawn_app_with(
        Backend::Sqlite,
        Options {
            sso: Some(sso_config(&issuer)),
            ..Options::default()
        },
    )
    .await;
    let browser = Browser::new(&app);
    let down = browser.get("/auth/oidc/start?next=/").await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down
        .text()
        .await
        .unwrap()
        .contains("Sign-in with Test IdP is unavailable right now"));
    let login = browser.get("/login").await.text().await.unwrap();
    assert!(
        login.contains("name=\"password\""),
        "the password form still works"
    );

    let provider = TestProvider::spawn_on(port).await;
    // Discovery is tried again at most once per interval (1 s here).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        browser.sign_in(&provider, "alice").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_password_login_off_only_login_local_shows_the_form() {
    let provider = TestProvider::spawn().await;
    let app = spawn_app_with(
        Backend::Sqlite,
        Options {
            sso: Some(sso_config(&provider.issuer)),
            password_login: false,
            ..Options::default()
        },
    )
    .await;
    let browser = Browser::new(&app);
    let login = browser.get("/login").await.text().await.unwrap();
    assert!(login.contains("Sign in with"), "{login}");
    assert!(!login.contains("name=\"password\""), "{login}");
    let local = browser.get("/login?local").await.text().await.unwrap();
    assert!(local.contains("name=\"password\""), "{local}");
    let posted = browser
        .client
        .post(format!("{}/login", app.address))
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", "ada"),
            ("password", crate::helpers::PASSWORD),
            ("next", "/admin/regeneration-jobs"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.status(),
        StatusCode::SEE_OTHER,
        "a break-glass admin still logs in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sso_session_ends_at_its_cap_whatever_the_provider_says() {
    let provider = TestProvider::spawn().await;
    let mut config = sso_config(&provider.issuer);
    config.max_session = Duration::from_secs(90);
    let app = spawn_app_with(
        Backend::Sqlite,
        Options {
            sso: Some(config),
            ..Options::default()
        },
    )
    .await;
    let browser = Browser::new(&app);
    let landed = browser.sign_in(&provider, "alice").await;
    let session_cookie = landed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("regen_session="))
        .unwrap();
    assert!(session_cookie.contains("Max-Age=90"), "{session_cookie}");
    let row = sqlx::query("SELECT created_at, expires_at FROM sessions")
        .fetch_one(&app.database.raw_pool().await)
        .await
        .unwrap();
    let created: regen_domain::Timestamp = row
        .try_get::<String, _>("created_at")
        .unwrap()
        .parse()
        .unwrap();
    let expires: regen_domain::Timestamp = row
        .try_get::<String, _>("expires_at")
        .unwrap()
        .parse()
        .unwrap();
    let lifetime = expires.millis() - created.millis();
    assert!((89_000..=91_000).contains(&lifetime), "{lifetime} ms");
}

/// A start refused for its SSO settings: one line on stderr naming them,
/// a non-zero exit, and no database created.
fn assert_refused(env: &[(&str, &str)], names: &[&str]) {
    let mut env = env.to_vec();
    env.push(("LEPTOS_SITE_ADDR", "127.0.0.1:0"));
    let (status, stderr, created) = crate::helpers::refused_serve(&env, &[]);
    assert!(!status.success(), "{env:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for name in names {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(!created, "nothing is written before the settings are right");
}

#[test]
fn sso_settings_that_cannot_work_stop_the_start_in_one_line() {
    let issuer = ("REGEN_OIDC_ISSUER", "https://idp.example.com");
    let client = ("REGEN_OIDC_CLIENT_ID", "regen-admin");
    let claim = ("REGEN_OIDC_ADMIN_CLAIM", "groups");
    let values = ("REGEN_OIDC_ADMIN_VALUES", "regen-admins");
    assert_refused(&[issuer, claim, values], &["REGEN_OIDC_CLIENT_ID"]);
    assert_refused(&[issuer, client, values], &["REGEN_OIDC_ADMIN_CLAIM"]);
    assert_refused(&[issuer, client, claim], &["REGEN_OIDC_ADMIN_VALUES"]);
    assert_refused(
        &[
            issuer,
            client,
            claim,
            values,
            ("REGEN_OIDC_CLIENT_SECRET_FILE", "/nonexistent/secret"),
        ],
        &["REGEN_OIDC_CLIENT_SECRET_FILE=/nonexistent/secret"],
    );
    assert_refused(
        &[
            issuer,
            client,
            claim,
            values,
            ("REGEN_OIDC_CLIENT_SECRET", "s3cret-value"),
            ("REGEN_OIDC_CLIENT_SECRET_FILE", "/etc/hostname"),
        ],
        &["REGEN_OIDC_CLIENT_SECRET", "not both"],
    );
    assert_refused(&[("REGEN_PASSWORD_LOGIN", "off")], &["REGEN_OIDC_ISSUER"]);
    assert_refused(
        &[("REGEN_PASSWORD_LOGIN", "maybe")],
        &["REGEN_PASSWORD_LOGIN"],
    );
    assert_refused(
        &[("REGEN_OIDC_MAX_SESSION", "soon")],
        &["REGEN_OIDC_MAX_SESSION"],
    );
    assert_refused(
        &[("REGEN_OIDC_ISSUER", "idp.example.com")],
        &["REGEN_OIDC_ISSUER"],
    );
    // The secret never reaches the message.
    let (_, stderr, _) = crate::helpers::refused_serve(
        &[
            ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
            issuer,
            claim,
            values,
            ("REGEN_OIDC_CLIENT_SECRET", "s3cret-value"),
        ],
        &[],
    );
    assert!(!stderr.contains("s3cret-value"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sso_its_routes_do_not_exist_and_the_login_page_has_no_button() {
    let app = spawn_app_with(Backend::Sqlite, Options::default()).await;
    let browser = Browser::new(&app);
    assert_eq!(
        browser.get("/auth/oidc/start?next=/").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser
            .get("/auth/oidc/callback?state=x&code=y")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let login = browser.get("/login").await.text().await.unwrap();
    assert!(!login.contains("/auth/oidc/start"), "{login}");
    assert!(login.contains("name=\"password\""), "{login}");
}
