//! Observing requests: the request id, one access-log line per request and
//! the HTTP metrics. Outermost layer, so it sees every answer, including
//! those of the guards inside it.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::problem::HiddenCause;
use super::state::AppState;

/// The id of this request, as logs, problem bodies and audit rows carry it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The route template that served a response, for logs and metrics.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// The authenticated user, left on the response by the auth layer so that
/// the access log can name them.
#[derive(Debug, Clone)]
pub struct LoggedUser(pub String);

/// The id a client sent as `X-Request-Id`, when it is sane enough to log:
/// it joins our log line to the caller's logs, and is never our id (audit
/// rows would otherwise carry whatever a client chose).
fn client_request_id(headers: &HeaderMap) -> &str {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or("")
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

/// Assigns the request id (always ours) and, on the way out, echoes it,
/// logs one line and records the metrics. Only fixed labels, our own ids and
/// a client's id checked to be plain reach the log line: the route
/// template, never the raw path a client sent.
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = client_request_id(request.headers()).to_owned();
    let method = method_label(request.method());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.as_str())
        .unwrap_or("unmatched");
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.http_metrics.observe(route, method, status, elapsed);
    let user_id = response
        .extensions()
        .get::<LoggedUser>()
        .map(|u| u.0.as_str())
        .unwrap_or("");
    match response.extensions().get::<HiddenCause>() {
        Some(HiddenCause::Unavailable(error)) => {
            tracing::warn!(request_id, route, error, "database unavailable")
        }
        Some(HiddenCause::Internal(error)) => {
            tracing::error!(request_id, route, error, "internal error")
        }
        None => {}
    }
    // The field's name is the and the log pipelines': `clientRequestId`.
    tracing::info!(
        request_id,
        clientRequestId = client_request_id,
        method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        user_id,
        "request"
    );
    response
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

/// Labels everything the static file services answer with one template.
pub async fn label_static(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response
        .extensions_mut()
        .insert(RouteLabel("/pkg/{file}".to_owned()));
    response
}
