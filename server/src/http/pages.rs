//! The endpoints around the Leptos pages: the login form and its POST,
//! logout, the no-JavaScript trigger form target, the exact-bytes download,
//! and health checks. Their HTML comes from `app::documents`.

use app::documents;
use app::pages::login::LoginOptions;
use app::ssr::RequestInfo;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use regen_domain::{JobId, TriggerOutcome};
use regen_service::{ClientInfo, LoginFailure, ServiceError};
use serde::Deserialize;

use super::api::with_redacted_count;
use super::auth::{
    client_address, device_cookie, end_session_cookie, session_cookie, start_device_cookie,
    start_session_cookie,
};
use super::problem::Problem;
use super::security::is_https;
use super::state::AppState;

const HOME: &str = "/admin/regeneration-jobs";

/// Only paths on this site: no scheme, no host, no `//evil.example`.
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => HOME.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    /// `/login?local`: the password form even when `REGEN_PASSWORD_LOGIN=off`
    /// (a break-glass admin's way in).
    local: Option<String>,
}

/// What the login page shows: the provider's button when SSO is on, the
/// password form unless it is turned off (and not asked for by `local`).
pub(super) fn login_options(state: &AppState, local: bool) -> LoginOptions {
    LoginOptions {
        sso_provider: state.service.sso_provider_name().map(str::to_owned),
        password_form: state.config.password_login || local,
    }
}

/// The login page; a failure's message, with its status.
pub(super) fn login_page(
    state: &AppState,
    local: bool,
    next: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let options = login_options(state, local);
    (
        status,
        Html(documents::login_document(&state.ui, &options, next, error)),
    )
        .into_response()
}

pub async fn login_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if info.caller.is_some_and(|c| c.is_admin()) {
        return Redirect::to(&next).into_response();
    }
    login_page(&state, query.local.is_some(), &next, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn login(State(state): State<AppState>, request: Request) -> Response {
    let client = client_address(&state, &request);
    let https = is_https(&state.config);
    // Whoever posted the form saw it: show it again, whatever the setting.
    let login_page = |next: &str, error: &str| {
        let options = login_options(&state, true);
        Html(documents::login_document(
            &state.ui,
            &options,
            next,
            Some(error),
        ))
    };
    let old_session = session_cookie(request.headers());
    let device = device_cookie(request.headers());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request_id = request
        .extensions()
        .get::<RequestInfo>()
        .map(|info| info.request_id.clone());
    let Ok(Form(form)) = Form::<LoginForm>::from_request(request, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            login_page(HOME, "Enter a user name and a password."),
        )
            .into_response();
    };
    let next = safe_next(form.next.as_deref());
    match state
        .service
        .login(
            &form.username,
            &form.password,
            ClientInfo {
                address: &client,
                user_agent: user_agent.as_deref(),
                request_id: request_id.as_deref(),
                device_cookie: device.as_deref(),
            },
        )
        .await
    {
        Ok(logged_in) => {
            if let Some(old) = old_session {
                // Rotation: whatever session the browser had is over.
                let _ = state.service.logout(None, &old, None).await;
            }
            let max_age = state.service.session_policy().absolute_lifetime.as_secs();
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::SET_COOKIE,
                start_session_cookie(logged_in.session.as_str(), max_age, https),
            );
            headers.append(
                header::SET_COOKIE,
                start_device_cookie(logged_in.device_cookie.as_str(), https),
            );
            response
        }
        Err(LoginFailure::InvalidCredentials) => (
            StatusCode::UNAUTHORIZED,
            login_page(&next, "Invalid user name or password."),
        )
            .into_response(),
        Err(LoginFailure::Service(ServiceError::RateLimited { retry_after_secs })) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                login_page(
                    &next,
                    "Too many failed attempts. Wait a few minutes and try again.",
                ),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(LoginFailure::Service(error)) => {
            tracing::error!(error = ?error, "login failed on the server side");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                login_page(
                    &next,
                    "Logging in is not possible right now. Try again shortly.",
                ),
            )
                .into_response()
        }
    }
}

/// Ends the session, and for a session from SSO sends the browser on to the
/// provider's end-session endpoint (RP-Initiated Logout), so that the
/// provider's session ends too and the next sign-in asks again.
pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    let mut id_token = None;
    if let Some(secret) = session_cookie(request.headers()) {
        let info = request.extensions().get::<RequestInfo>();
        let caller = info.and_then(|i| i.caller.as_ref());
        let request_id = info.map(|i| i.request_id.as_str());
        match state.service.logout(caller, &secret, request_id).await {
            Ok(token) => id_token = token,
            Err(error) => tracing::warn!(error = ?error, "logout could not delete the session"),
        }
    }
    let back = format!("{}/login", state.config.origin());
    let provider_logout = id_token.and_then(|token| state.service.sso_logout_url(&token, &back));
    let mut response = match provider_logout {
        Some(url) => {
            let provider = state.service.sso_provider_name().unwrap_or("the provider");
            Html(documents::signed_out_document(&state.ui, provider, &url)).into_response()
        }
        None => Redirect::to("/login").into_response(),
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, end_session_cookie());
    response
}

/// The no-JavaScript trigger: a plain form POST, answered with 303 back to
/// the detail page, which shows the outcome.
pub async fn trigger_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Response {
    let result = state
        .service
        .trigger_job(info.caller.as_ref(), &id, Some(&info.request_id))
        .await;
    let outcome: TriggerOutcome = match regen_service::trigger_outcome(&result) {
        Some(outcome) => outcome,
        None => {
            let error = result.expect_err("only errors have no outcome");
            return Problem::from(error).into_response();
        }
    };
    let id = form_safe_id(&id);
    Redirect::to(&format!("{HOME}/{id}?outcome={}", outcome.as_str())).into_response()
}

/// One JSON field of a job as a file: the stored bytes, exactly, but for
/// the values redaction hides (counted in `Regen-Redacted`). The viewer's
/// Download control is a plain link here, so it also works without WASM.
pub async fn download_field(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path((id, field)): Path<(String, String)>,
) -> Response {
    let document = match state
        .service
        .job_document(info.caller.as_ref(), &id, &field)
        .await
    {
        Ok(Some(document)) => document,
        Ok(None) => return Problem::not_found("This job has no such JSON field.").into_response(),
        Err(error) => return Problem::from(error).into_response(),
    };
    // The id was found, so it parses; it is named as the API names it.
    let id = id.parse::<JobId>().map_or(id, |id| id.to_string());
    let disposition = format!("attachment; filename=\"regeneration-job-{id}-{field}.json\"");
    let hidden = document.hidden.len();
    let mut response = with_redacted_count(document.doc.into_string().into_response(), hidden);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn form_safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect()
}

pub async fn home() -> Redirect {
    Redirect::to(HOME)
}

pub async fn healthz() -> StatusCode {
    StatusCode::OK
}

/// Ready when the database answers and every migration is applied.
pub async fn readyz(State(state): State<AppState>) -> StatusCode {
    if state.service.is_ready().await {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(
            safe_next(Some("/admin/regeneration-jobs/x")),
            "/admin/regeneration-jobs/x"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), HOME, "{bad}");
        }
        assert_eq!(safe_next(None), HOME);
    }
}
