//! The plain-HTML endpoints that live outside Leptos: the login form (no
//! WASM, no session yet), logout, the no-JavaScript trigger form target,
//! and health checks.

use app::ssr::RequestInfo;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use regen_service::{LoginFailure, ServiceError};
use serde::Deserialize;

use super::middleware::{client_address, is_https, session_cookie, SESSION_COOKIE};
use super::AppState;

const HOME: &str = "/admin/regeneration-jobs";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    app::components::json_viewer::escape_html(text, &mut out);
    out
}

/// Only paths on this site: no scheme, no host, no `//evil.example`.
fn safe_next(next: Option<&str>) -> String {
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

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{} · regen-admin</title><link rel=\"stylesheet\" href=\"/pkg/regen-admin.css\">\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"></head>\
         <body><header class=\"top\"><span class=\"brand\">regen-admin</span></header>\
         <main id=\"main\">{body}</main></body></html>",
        escape(title)
    )
}

pub fn unavailable_page() -> String {
    page(
        "Unavailable",
        "<section class=\"error-panel\" role=\"alert\"><h1>Database unavailable</h1>\
         <p>The database is not answering right now. Nothing was changed; try again in a moment.</p></section>",
    )
}

pub fn forbidden_page() -> String {
    page(
        "Admins only",
        "<section class=\"error-panel\" role=\"alert\"><h1>Admins only</h1>\
         <p>Your account does not have the admin role, so this control plane shows you nothing.</p>\
         <form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form></section>",
    )
}

fn login_page(next: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"notice error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Log in",
        &format!(
            "<section class=\"login\"><h1>Log in</h1>{error}\
             <form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"next\" value=\"{}\">\
             <label>User name <input name=\"username\" autocomplete=\"username\" required autofocus></label>\
             <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
             <button type=\"submit\" class=\"primary\">Log in</button></form></section>",
            escape(next)
        ),
    )
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(
    Extension(info): Extension<RequestInfo>,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if info
        .caller
        .is_some_and(|c| c.role == regen_service::Role::Admin)
    {
        return Redirect::to(&next).into_response();
    }
    Html(login_page(&next, None)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn login(State(state): State<AppState>, request: Request) -> Response {
    let client = client_address(&state, &request);
    let https = is_https(&state, request.headers());
    let old_session = session_cookie(request.headers());
    let Ok(Form(form)) = Form::<LoginForm>::from_request(request, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            Html(login_page(HOME, Some("Enter a user name and a password."))),
        )
            .into_response();
    };
    let next = safe_next(form.next.as_deref());
    match state
        .service
        .login(&form.username, &form.password, &client)
        .await
    {
        Ok((_caller, secret)) => {
            if let Some(old) = old_session {
                // Rotation: whatever session the browser had is over.
                let _ = state.service.logout(&old).await;
            }
            let max_age = state.service.session_policy().absolute_lifetime.as_secs();
            let secure = if https { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}",
                secret.as_str()
            );
            let mut response = Redirect::to(&next).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(LoginFailure::InvalidCredentials) => (
            StatusCode::UNAUTHORIZED,
            Html(login_page(&next, Some("Invalid user name or password."))),
        )
            .into_response(),
        Err(LoginFailure::Service(ServiceError::RateLimited { retry_after_secs })) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Html(login_page(
                    &next,
                    Some("Too many failed attempts. Wait a few minutes and try again."),
                )),
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
                Html(login_page(
                    &next,
                    Some("Logging in is not possible right now. Try again shortly."),
                )),
            )
                .into_response()
        }
    }
}

pub async fn logout(State(state): State<AppState>, request: Request) -> Response {
    if let Some(secret) = session_cookie(request.headers()) {
        if let Err(error) = state.service.logout(&secret).await {
            tracing::warn!(error = ?error, "logout could not delete the session");
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("regen_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}

/// The no-JavaScript trigger: a plain form POST, answered with 303 back to
/// the detail page, which shows the outcome.
pub async fn trigger_form(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Response {
    let outcome = match state
        .service
        .trigger_job(info.caller.as_ref(), &id, Some(&info.request_id))
        .await
    {
        Ok(_) => "triggered",
        Err(ServiceError::Conflict { .. }) => "conflict",
        Err(ServiceError::NotFound) => "notfound",
        Err(ServiceError::Unavailable(_)) => "unavailable",
        Err(error) => {
            return super::problem::Problem::from_service(error, &info.request_id).into_response();
        }
    };
    let id = form_safe_id(&id);
    Redirect::to(&format!("{HOME}/{id}?outcome={outcome}")).into_response()
}

/// One JSON field of a job as a file: the stored bytes, exactly. The viewer's
/// Download control is a plain link here, so it also works without WASM.
pub async fn download_field(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path((id, field)): Path<(String, String)>,
) -> Response {
    let job = match state.service.get_job(info.caller.as_ref(), &id).await {
        Ok(job) => job,
        Err(error) => {
            return super::problem::Problem::from_service(error, &info.request_id).into_response()
        }
    };
    let document = match field.as_str() {
        "instructionJson" => Some(job.instruction_json),
        "outputRef" => job.output_ref,
        "errorJson" => job.error_json,
        _ => None,
    };
    let Some(document) = document else {
        return super::problem::Problem::not_found("This job has no such JSON field.")
            .into_response();
    };
    let disposition = format!(
        "attachment; filename=\"regeneration-job-{}-{field}.json\"",
        job.id
    );
    let mut response = document.into_string().into_response();
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
    match state.service.store().is_ready().await {
        Ok(true) => StatusCode::OK,
        Ok(false) => StatusCode::SERVICE_UNAVAILABLE,
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            StatusCode::SERVICE_UNAVAILABLE
        }
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

    #[test]
    fn login_page_escapes_next() {
        let html = login_page("/x\"><script>", None);
        assert!(!html.contains("<script>"));
    }
}
