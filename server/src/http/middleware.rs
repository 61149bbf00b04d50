//! Request-wide layers, outermost first: request id and authentication,
//! then the default-deny access guard, then CSRF. Security headers, the
//! access log and HTTP metrics are applied on the way out.

use std::net::SocketAddr;
use std::time::Instant;

use app::ssr::RequestInfo;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use regen_service::{Caller, Role};

use super::problem::Problem;
use super::AppState;

pub const SESSION_COOKIE: &str = "regen_session";

/// How the request authenticated, which decides whether CSRF checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    None,
    SessionCookie,
    BearerToken,
}

/// The nonce every inline script of this response must carry.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// The route template that served a response, for logs and metrics.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn request_id(headers: &HeaderMap) -> String {
    // Keep a caller's id when it is sane, so logs join up across services.
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
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

/// Methods as metrics label them: a fixed set, so that made-up methods
/// cannot grow the series without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Assigns the request id, authenticates (a bearer header wins over any
/// cookie), and on the way out adds security headers, logs one line and
/// records metrics.
pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request_id(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let (caller, credential) = match authenticate(&state, request.headers()).await {
        Ok(found) => found,
        // The database is needed to know who is calling. Public paths go on
        // anonymously (so login, logout and health checks still answer);
        // everything else says the service is unavailable, in its own format.
        Err(_) if is_public(&path) => (None, Credential::None),
        Err(error) => {
            let response = if is_machine_path(&path) {
                Problem::from_service(error, &request_id).into_response()
            } else {
                tracing::warn!(request_id, error = ?error, "authentication failed: database unavailable");
                let mut page = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Html(super::pages::unavailable_page()),
                )
                    .into_response();
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(2));
                page
            };
            return finish(
                &state,
                response,
                &request_id,
                &method,
                &path,
                None,
                started,
                None,
            );
        }
    };
    let mut nonce = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = STANDARD_NO_PAD.encode(nonce);
    request.extensions_mut().insert(RequestInfo {
        caller: caller.clone(),
        request_id: request_id.clone(),
    });
    request.extensions_mut().insert(credential);
    request.extensions_mut().insert(CspNonce(nonce.clone()));

    let response = next.run(request).await;
    finish(
        &state,
        response,
        &request_id,
        &method,
        &path,
        caller.as_ref(),
        started,
        Some(&nonce),
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    state: &AppState,
    mut response: Response,
    request_id: &str,
    method: &Method,
    path: &str,
    caller: Option<&Caller>,
    started: Instant,
    nonce: Option<&str>,
) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let nonce = nonce.unwrap_or("none");
        let policy = format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if caller.is_some() || is_html {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| {
            if path.starts_with("/pkg/") {
                "/pkg/{file}".into()
            } else {
                "unmatched".into()
            }
        });
    let status = response.status();
    let elapsed = started.elapsed();
    state
        .http_metrics
        .observe(&route, method_label(method), status.as_u16(), elapsed);
    tracing::info!(
        request_id,
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        user_id = caller.map(|c| c.user_id.as_str()).unwrap_or(""),
        "request"
    );
    response
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Option<Caller>, Credential), regen_service::ServiceError> {
    if let Some(token) = bearer_token(headers) {
        let caller = state.service.authenticate_token(&token).await?;
        return Ok((caller, Credential::BearerToken));
    }
    if let Some(secret) = session_cookie(headers) {
        let caller = state.service.authenticate_session(&secret).await?;
        return Ok((caller, Credential::SessionCookie));
    }
    Ok((None, Credential::None))
}

/// Records the matched route template on the response (a route layer sees
/// it; the outer layers do not).
pub async fn label_route(request: Request, next: Next) -> Response {
    let label = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(label) = label {
        response.extensions_mut().insert(RouteLabel(label));
    }
    response
}

/// Where anonymous and non-admin callers may go. Everything not listed
/// here requires the admin role; the service checks again.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/healthz" | "/readyz" | "/favicon.svg" | "/favicon.ico" | "/"
    ) || path.starts_with("/pkg/")
}

/// Paths answered in problem+json rather than HTML.
fn is_machine_path(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/rpc/") || path == "/metrics"
}

/// Refuses bodies over `limit` with a problem+json 413 (declared length), and
/// caps streamed bodies at the same size.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let limit = crate::BODY_LIMIT;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("At most {limit} bytes are accepted."),
        )
        .into_response();
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Default deny: pages send anonymous visitors to the login form and show
/// members a 403 page; the API and server functions answer 401/403.
pub async fn access_guard(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_public(path) {
        return next.run(request).await;
    }
    let caller = request
        .extensions()
        .get::<RequestInfo>()
        .and_then(|info| info.caller.clone());
    let is_machine_path = is_machine_path(path);
    match caller {
        Some(caller) if caller.role == Role::Admin => next.run(request).await,
        Some(_) if is_machine_path => Problem::forbidden().into_response(),
        None if is_machine_path => Problem::unauthenticated().into_response(),
        Some(_) => (StatusCode::FORBIDDEN, Html(super::pages::forbidden_page())).into_response(),
        None => {
            let target = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".into());
            let next_param = regen_service::percent_encode(&target);
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
    }
}

/// Refuses cross-site state changes made with a session cookie. Browsers
/// say where a request comes from (`Sec-Fetch-Site`, `Origin`); requests
/// with neither header are not from a browser and carry no ambient
/// authority worth forging, and bearer tokens are never sent implicitly.
pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let credential = request
        .extensions()
        .get::<Credential>()
        .copied()
        .unwrap_or(Credential::None);
    let login = request.uri().path() == "/login";
    if safe || !(credential == Credential::SessionCookie || login) {
        return next.run(request).await;
    }
    if is_same_origin(&state, request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        Problem::new(
            StatusCode::FORBIDDEN,
            "cross-site",
            "Cross-site request refused",
            "State-changing requests must come from this site.",
        )
        .into_response()
    }
}

fn is_same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return match &state.config.public_origin {
            Some(expected) => origin == expected,
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                origin == format!("http://{host}") || origin == format!("https://{host}")
            }
        };
    }
    true
}

/// Whether cookies must be marked Secure: the site is served over HTTPS.
pub fn is_https(state: &AppState, headers: &HeaderMap) -> bool {
    match &state.config.public_origin {
        Some(origin) => origin.starts_with("https://"),
        None => headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https")),
    }
}
