//! What keeps browsers and hostile requests honest: no dot segments in
//! paths, bounded bodies, CSRF checks on cookie-authenticated writes, and
//! the security headers (CSP with a per-response nonce, HSTS, nosniff,
//! framing, referrer).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use percent_encoding::percent_decode;
use rand::RngCore;

use super::auth::Credential;
use super::problem::Problem;
use super::state::AppState;
use crate::config::Config;

/// The nonce every inline script of this response must carry.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Whether a path has a `.` or `..` segment, written plainly or
/// percent-encoded (`%2e`, `%2E`, and `%2f` as a separator). Routers
/// normalise such paths after the guards have judged the raw text, so they
/// are refused before anything else looks at them.
pub fn has_dot_segment(path: &str) -> bool {
    // Decoded twice: `%252e` becomes `%2e`, which a second decoder (a proxy,
    // a file server) would turn into a dot.
    let once: Vec<u8> = percent_decode(path.as_bytes()).collect();
    let twice: Vec<u8> = percent_decode(&once).collect();
    twice
        .split(|b| *b == b'/' || *b == b'\\')
        .any(|segment| segment == b"." || segment == b"..")
}

pub async fn reject_dot_segments(request: Request, next: Next) -> Response {
    if has_dot_segment(request.uri().path()) {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-path",
            "Invalid path",
            "Paths must not contain . or .. segments.",
        )
        .into_response();
    }
    next.run(request).await
}

/// Refuses bodies over the limit with a problem+json 413 (declared length),
/// and caps streamed bodies at the same size.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let limit = crate::BODY_LIMIT;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Problem::body_too_large(limit).into_response();
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// The input rules of the server functions under `/rpc/`, which Leptos
/// would otherwise answer with redirects and 500s that quote the parser:
/// POST only, `Content-Type: application/json` only (a `text/plain` body is
/// the classic cross-site shape that needs no preflight), a bounded body
/// that is the function's arguments, and a JSON answer, never a redirect.
pub async fn guard_server_functions(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/rpc/") {
        return next.run(request).await;
    }
    if request.method() != Method::POST {
        return Problem::method_not_allowed(HeaderValue::from_static("POST")).into_response();
    }
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "Server functions take Content-Type: application/json.",
        )
        .into_response();
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_LIMIT).await else {
        return Problem::body_too_large(crate::BODY_LIMIT).into_response();
    };
    let well_formed = match parts.uri.path() {
        path if path == <app::server_fns::TriggerJob as leptos::server_fn::ServerFn>::PATH => {
            serde_json::from_slice::<app::server_fns::TriggerJob>(&bytes).is_ok()
        }
        _ => {
            return Problem::not_found("There is no server function at this path.").into_response()
        }
    };
    if !well_formed {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            "The body must be a JSON object holding the function's arguments.",
        )
        .into_response();
    }
    // Leptos redirects browsers that accept HTML back to their Referer; a
    // server function here only ever answers in JSON.
    parts
        .headers
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::REFERER);
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
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
    if is_same_origin(&state.config, request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!(path = ?request.uri().path(), "cross-site request refused");
        Problem::new(
            StatusCode::FORBIDDEN,
            "cross-site",
            "Cross-site request refused",
            "State-changing requests must come from this site.",
        )
        .into_response()
    }
}

/// The origins a browser may send state changes from: the configured
/// public origin, or (only on a loopback listener, where start-up allows
/// no public origin) this port on the loopback names. Never the request's
/// own `Host` header, which the client chooses.
pub fn allowed_origins(config: &Config) -> Vec<String> {
    match &config.public_origin {
        Some(origin) => vec![origin.clone()],
        None => {
            let port = config.site_addr.port();
            ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .map(|host| format!("http://{host}:{port}"))
                .collect()
        }
    }
}

fn is_same_origin(config: &Config, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return allowed_origins(config).iter().any(|o| o == origin);
    }
    true
}

/// Whether the site is served over HTTPS, which makes the session cookie
/// Secure and turns on HSTS.
pub fn is_https(config: &Config) -> bool {
    config
        .public_origin
        .as_deref()
        .is_some_and(|origin| origin.starts_with("https://"))
}

/// Puts a fresh CSP nonce into the request and the security headers on
/// the response: CSP for HTML (whose scripts carry that nonce), and for
/// everything nosniff, no framing, no referrer, HSTS behind HTTPS.
pub async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut nonce = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = STANDARD_NO_PAD.encode(nonce);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if is_https(&state.config) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let policy = format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_found_however_they_are_spelled() {
        for path in [
            "/pkg/../admin/regeneration-jobs",
            "/pkg/%2e%2e/admin",
            "/pkg/%2E%2E/admin",
            "/pkg/..%2fadmin",
            "/pkg/.%2e/admin",
            "/pkg/%2e/x",
            "/./admin",
            "/pkg/%252e%252e/admin",
            "/pkg/..",
            "/pkg/..\\admin",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in [
            "/pkg/regen-admin.css",
            "/admin/regeneration-jobs",
            "/pkg/a..b",
            "/pkg/.hidden",
            "/",
        ] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }
}
