//! Who is calling, and whether they may pass: credentials (bearer token or
//! session cookie), the session cookie itself, and the default-deny access
//! guard. The rules of what a caller may do live in the service; this layer
//! is the first line of defence, not the only one.

use std::net::SocketAddr;

use app::documents;
use app::ssr::RequestInfo;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use regen_domain::{Caller, Scope};
use regen_service::CredentialHash;

use super::observe::{LoggedUser, RequestId};
use super::problem::Problem;
use super::state::AppState;

pub const SESSION_COOKIE: &str = "regen_session";

/// The device cookie (see `regen_service::DeviceCookie`): sent only to
/// `/login`, where it is all that is needed.
pub const DEVICE_COOKIE: &str = "regen_device";

/// A device cookie lasts a year: it holds no access, only the right to be
/// throttled as a known browser.
const DEVICE_COOKIE_MAX_AGE_SECS: i64 = 365 * 24 * 3600;

/// How the request authenticated, which decides whether CSRF checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    None,
    SessionCookie,
    BearerToken,
    /// A bearer token was sent and refused: unknown, revoked, expired, a
    /// disabled owner, or a read-scope token outside the REST API.
    RejectedToken,
}

pub(super) fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, SESSION_COOKIE)
}

pub fn device_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, DEVICE_COOKIE)
}

/// The Set-Cookie value that gives a browser its device cookie.
pub fn start_device_cookie(value: &str, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((DEVICE_COOKIE, value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/login")
        .max_age(cookie::time::Duration::seconds(DEVICE_COOKIE_MAX_AGE_SECS))
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie text is a header value")
}

/// The Set-Cookie value that starts a browser session.
pub fn start_session_cookie(secret: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, secret.to_owned()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_secs as i64))
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie text is a header value")
}

/// The Set-Cookie value that ends it.
pub fn end_session_cookie() -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::ZERO)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("cookie text is a header value")
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The client's address: from the trusted proxy's header when one is
/// configured (its right-most entry, the one the proxy itself added), else
/// the TCP peer.
pub fn client_address(state: &AppState, request: &Request) -> String {
    if let Some(header) = &state.config.client_ip_header {
        let forwarded = request
            .headers()
            .get_all(header.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty());
        if let Some(address) = forwarded {
            return address.chars().take(64).collect();
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Where anonymous and non-admin callers may go. Everything else requires
/// the admin role; the service checks again. Static files never get here:
/// they are served outside this layer.
/// Where a sign-in through the OpenID provider begins, and where the
/// provider sends the browser back.
pub const SSO_START: &str = "/auth/oidc/start";
pub const SSO_CALLBACK: &str = "/auth/oidc/callback";

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/readyz" | "/" | SSO_START | SSO_CALLBACK
    )
}

/// Paths answered in problem+json rather than HTML.
pub fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/rpc/") || path == "/metrics"
}

/// Who is calling, how they authenticated, and (when they did) their
/// credential's hash, for requests that check it again as they run.
type Authenticated = (Option<(Caller, CredentialHash)>, Credential);

async fn credentials(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Authenticated, regen_service::ServiceError> {
    if let Some(token) = bearer_token(headers) {
        let caller = state.service.authenticate_token(&token).await?;
        return Ok(match caller {
            // Read-scope tokens are for scripts reading the REST API; the
            // pages, server functions and forms never accept them.
            Some(caller) if caller.scope == Scope::Admin || path.starts_with("/api/") => (
                Some((caller, CredentialHash::api_token(&token))),
                Credential::BearerToken,
            ),
            _ => (None, Credential::RejectedToken),
        });
    }
    if let Some(secret) = session_cookie(headers) {
        let caller = state.service.authenticate_session(&secret).await?;
        let authenticated = caller.map(|c| (c, CredentialHash::session(&secret)));
        return Ok((authenticated, Credential::SessionCookie));
    }
    Ok((None, Credential::None))
}

fn request_id_of(request: &Request) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Authenticates (a bearer header wins over any cookie) and records the
/// caller for the guards, the pages and the access log. Responses to an
/// authenticated caller are never cached.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = request_id_of(&request);
    let path = request.uri().path().to_owned();
    let (authenticated, credential) = match credentials(&state, request.headers(), &path).await {
        Ok(found) => found,
        // The database is needed to know who is calling. Public paths go on
        // anonymously (so login, logout and health checks still answer);
        // everything else says the service is unavailable, in its own format.
        Err(_) if is_public(&path) => (None, Credential::None),
        Err(error) if is_machine_path(&path) => {
            return Problem::from(error).into_response();
        }
        Err(error) => {
            tracing::warn!(request_id, error = ?error, "authentication failed: database unavailable");
            let mut page = (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(documents::unavailable_document(&state.ui, None)),
            )
                .into_response();
            page.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(2));
            return page;
        }
    };
    let (caller, hash) = authenticated.unzip();
    let user_id = caller.as_ref().map(|c| c.user_id.clone());
    if let Some(hash) = hash {
        request.extensions_mut().insert(hash);
    }
    request
        .extensions_mut()
        .insert(RequestInfo { caller, request_id });
    request.extensions_mut().insert(credential);
    let mut response = next.run(request).await;
    if let Some(user_id) = user_id {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(LoggedUser(user_id));
    }
    response
}

/// Default deny: pages send anonymous visitors to the login form and show
/// members a 403 page; the API and server functions answer 401/403.
pub async fn access_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_public(path) {
        return next.run(request).await;
    }
    let caller = request
        .extensions()
        .get::<RequestInfo>()
        .and_then(|info| info.caller.clone());
    let is_machine_path = is_machine_path(path);
    let rejected_token =
        request.extensions().get::<Credential>() == Some(&Credential::RejectedToken);
    match caller {
        Some(caller) if caller.is_admin() => next.run(request).await,
        Some(_) if is_machine_path => Problem::forbidden().into_response(),
        None if is_machine_path && rejected_token => Problem::invalid_token().into_response(),
        None if is_machine_path => Problem::unauthenticated().into_response(),
        Some(caller) => (
            StatusCode::FORBIDDEN,
            Html(documents::forbidden_document(&state.ui, Some(&caller))),
        )
            .into_response(),
        None => {
            let target = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into());
            let next_param: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
    }
}
