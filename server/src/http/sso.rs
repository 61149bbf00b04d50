//! Sign-in through the OpenID provider: `/auth/oidc/start` sends the
//! browser there with a cookie binding the sign-in to it, and
//! `/auth/oidc/callback` finishes it. What a sign-in may do and who may
//! pass is decided in the service (`regen_service::AdminService::finish_sso`);
//! this is the HTTP around it. A browser sees one of three messages, never
//! a reason: the reason is a security event in the log.

use app::documents;
use app::ssr::RequestInfo;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use cookie::{Cookie, SameSite};
use regen_service::{ClientInfo, ServiceError, SsoFailure, SsoReturn, SIGN_IN_LIFETIME};
use serde::Deserialize;

use super::auth::{client_address, cookie_named, session_cookie, start_session_cookie};
use super::pages::{login_page, safe_next};
use super::security::is_https;
use super::state::AppState;

/// The cookie that ties a sign-in under way to the browser that began it.
/// SameSite=Lax: the provider sends the browser back with a cross-site
/// navigation, which a Strict cookie would not come with.
const SIGN_IN_COOKIE: &str = "regen_oidc";
const SIGN_IN_COOKIE_PATH: &str = "/auth/oidc";

fn sign_in_cookie(value: &str, max_age: cookie::time::Duration, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((SIGN_IN_COOKIE, value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path(SIGN_IN_COOKIE_PATH)
        .max_age(max_age)
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie text is a header value")
}

fn unavailable(state: &AppState, next: &str) -> Response {
    let provider = state.service.sso_provider_name().unwrap_or("the provider");
    login_page(
        state,
        false,
        next,
        StatusCode::SERVICE_UNAVAILABLE,
        Some(&format!(
            "Sign-in with {provider} is unavailable right now. Try again in a minute."
        )),
    )
}

fn failed(state: &AppState) -> Response {
    login_page(
        state,
        false,
        "/admin/regeneration-jobs",
        StatusCode::BAD_REQUEST,
        Some("Sign-in failed. Please try again."),
    )
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// Without SSO configured, its two routes do not exist.
fn not_configured(state: &AppState) -> Option<Response> {
    state
        .service
        .sso_provider_name()
        .is_none()
        .then(|| StatusCode::NOT_FOUND.into_response())
}

pub async fn start(State(state): State<AppState>, Query(query): Query<StartQuery>) -> Response {
    if let Some(response) = not_configured(&state) {
        return response;
    }
    let next = safe_next(query.next.as_deref());
    match state.service.begin_sso(&next).await {
        Ok(start) => {
            let mut response = Redirect::to(&start.redirect_to).into_response();
            let max_age = cookie::time::Duration::seconds(SIGN_IN_LIFETIME.as_secs() as i64);
            response.headers_mut().insert(
                header::SET_COOKIE,
                sign_in_cookie(&start.browser_secret, max_age, is_https(&state.config)),
            );
            response
        }
        Err(SsoFailure::Service(ServiceError::RateLimited { retry_after_secs })) => {
            let mut response = unavailable(&state, &next);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(SsoFailure::Service(error)) => {
            tracing::error!(error = ?error, "could not begin an SSO sign-in");
            unavailable(&state, &next)
        }
        Err(_) => unavailable(&state, &next),
    }
}

/// What the provider puts on the callback URL. Every field is optional:
/// anyone can call this URL with anything.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    request: axum::extract::Request,
) -> Response {
    if let Some(response) = not_configured(&state) {
        return response;
    }
    let headers: &HeaderMap = request.headers();
    // A query that does not parse is answered like any other bad return.
    let query: CallbackQuery = request
        .uri()
        .query()
        .and_then(|q| serde_html_form::from_str(q).ok())
        .unwrap_or_default();
    let client = client_address(&state, &request);
    let browser_secret = cookie_named(headers, SIGN_IN_COOKIE);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let back = SsoReturn {
        state: query.state.as_deref(),
        code: query.code.as_deref(),
        error: query.error.as_deref(),
        browser_secret: browser_secret.as_deref(),
    };
    let outcome = state
        .service
        .finish_sso(
            back,
            ClientInfo {
                address: &client,
                user_agent,
                request_id: Some(&info.request_id),
                device_cookie: None,
            },
        )
        .await;
    let https = is_https(&state.config);
    let mut response = match outcome {
        Ok(signed_in) => {
            if let Some(old) = session_cookie(headers) {
                // Rotation: whatever session the browser had is over.
                let _ = state.service.logout(None, &old, None).await;
            }
            let html = documents::signed_in_document(&state.ui, &signed_in.caller, &signed_in.next);
            let mut response = Html(html).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                start_session_cookie(
                    signed_in.session.as_str(),
                    signed_in.max_age.as_secs(),
                    https,
                ),
            );
            response
        }
        Err(SsoFailure::NotAnAdmin) => {
            let provider = state.service.sso_provider_name().unwrap_or("Your provider");
            (
                StatusCode::FORBIDDEN,
                Html(documents::sso_refused_document(&state.ui, provider)),
            )
                .into_response()
        }
        Err(SsoFailure::Unavailable) => unavailable(&state, "/admin/regeneration-jobs"),
        Err(SsoFailure::Failed) => failed(&state),
        Err(SsoFailure::Service(error)) => {
            tracing::error!(request_id = %info.request_id, error = ?error, "SSO sign-in failed on the server side");
            unavailable(&state, "/admin/regeneration-jobs")
        }
    };
    // The sign-in is spent whatever happened: the cookie goes too.
    response.headers_mut().append(
        header::SET_COOKIE,
        sign_in_cookie("", cookie::time::Duration::ZERO, https),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::auth::SSO_START;

    #[test]
    fn the_sign_in_cookie_is_http_only_lax_and_scoped_to_the_sign_in_paths() {
        let cookie = sign_in_cookie("s3cret", cookie::time::Duration::seconds(600), true);
        let text = cookie.to_str().unwrap();
        for part in [
            "regen_oidc=s3cret",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/auth/oidc",
            "Max-Age=600",
            "Secure",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert!(SSO_START.starts_with(SIGN_IN_COOKIE_PATH));
    }
}
