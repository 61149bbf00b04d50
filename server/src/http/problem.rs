//! RFC 9457 problem details: the one error body of the REST API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use regen_domain::JobStatus;
use regen_service::ServiceError;
use serde::Serialize;

/// An error, as every API answer other than a success carries it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// On a 409: the status that made the trigger impossible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<JobStatus>,
    /// On a bulk trigger's 409: how many PENDING jobs its filter selects now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_count: Option<u64>,
    /// On a bulk trigger's 413: the most jobs one bulk may take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<usize>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
    #[serde(skip)]
    pub allow: Option<HeaderValue>,
    /// The challenge of a 401 (plain `Bearer` unless set), or of a 403 for
    /// a credential whose scope is too small.
    #[serde(skip)]
    pub www_authenticate: Option<HeaderValue>,
    #[serde(skip)]
    pub cause: Option<HiddenCause>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("https://regen-admin.dev/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            current_status: None,
            current_count: None,
            maximum: None,
            retry_after: None,
            allow: None,
            www_authenticate: None,
            cause: None,
        }
    }

    /// A bearer token was sent but is unknown, revoked, expired, or its
    /// owner is disabled (RFC 6750 does not say which, and neither do we).
    pub fn invalid_token() -> Problem {
        let mut problem = Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid-token",
            "Invalid token",
            "The bearer token is not valid: unknown, revoked or expired, or its owner is disabled.",
        );
        problem.www_authenticate = Some(HeaderValue::from_static("Bearer error=\"invalid_token\""));
        problem
    }

    pub fn insufficient_scope() -> Problem {
        let mut problem = Problem::new(
            StatusCode::FORBIDDEN,
            "insufficient-scope",
            "Insufficient scope",
            "This token has the read scope: it may list and read, not trigger. Use an admin-scope token.",
        );
        problem.www_authenticate = Some(HeaderValue::from_static(
            "Bearer error=\"insufficient_scope\", scope=\"admin\"",
        ));
        problem
    }

    pub fn unauthenticated() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            "Send Authorization: Bearer <token> or log in.",
        )
    }

    pub fn forbidden() -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "This requires the admin role.",
        )
    }

    pub fn not_found(detail: &str) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// `allow` is the router's own `Allow` header, so the answer can never
    /// disagree with the routes.
    pub fn method_not_allowed(allow: HeaderValue) -> Problem {
        let mut problem = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("Allowed methods: {}.", allow.to_str().unwrap_or_default()),
        );
        problem.allow = Some(allow);
        problem
    }

    pub fn body_too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("At most {limit} bytes are accepted."),
        )
    }

    /// A request the API cannot read: a bad query parameter or value.
    pub fn invalid_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }
}

/// The cause of a 500 or 503, kept off the wire. It rides on the response
/// to `observe`, which logs it with the request id.
#[derive(Debug, Clone)]
pub enum HiddenCause {
    /// The database did not answer (503).
    Unavailable(String),
    /// Anything else (500).
    Internal(String),
}

/// Maps a service error once, for every handler (`?`). Internal causes
/// are never sent: they stay in [`Problem::cause`] for the log.
impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Problem {
        match error {
            ServiceError::Unauthenticated => Problem::unauthenticated(),
            ServiceError::Forbidden => Problem::forbidden(),
            ServiceError::InsufficientScope => Problem::insufficient_scope(),
            ServiceError::NotFound => Problem::not_found("No regeneration job has that id."),
            ServiceError::Conflict { current } => {
                let mut problem = Problem::new(
                    StatusCode::CONFLICT,
                    "not-pending",
                    "Job is not PENDING",
                    format!(
                        "The job is {current}; only PENDING jobs can be triggered, and only once."
                    ),
                );
                problem.current_status = Some(current);
                problem
            }
            ServiceError::TooManyJobs { max } => {
                let mut problem = Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-many-jobs",
                    "Too many jobs",
                    format!("One bulk trigger takes at most {max} jobs; nothing was triggered. Narrow the filter or split the ids."),
                );
                problem.maximum = Some(max);
                problem
            }
            ServiceError::CountChanged { current_count } => {
                let mut problem = Problem::new(
                    StatusCode::CONFLICT,
                    "count-changed",
                    "The filter's count changed",
                    format!("The filter now selects {current_count} PENDING jobs, not expectedCount; nothing was triggered. Confirm the new count and send it."),
                );
                problem.current_count = Some(current_count);
                problem
            }
            ServiceError::KeyInProgress => Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-use",
                "Request in progress",
                "A request with this Idempotency-Key is still running; retry later for its answer.",
            ),
            ServiceError::KeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "This Idempotency-Key was used for a different request (method, path or body); use a new key.",
            ),
            ServiceError::InvalidInput(message)
            | ServiceError::InvalidParameter { message, .. } => Problem::invalid_request(message),
            ServiceError::WeakPassword(rule) => Problem::invalid_request(rule.message()),
            ServiceError::RateLimited { retry_after_secs } => {
                let mut problem = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many attempts",
                    "Try again later.",
                );
                problem.retry_after = Some(retry_after_secs);
                problem
            }
            ServiceError::Unavailable(cause) => {
                let mut problem = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "The database is not answering. Nothing was changed; retry later.",
                );
                problem.retry_after = Some(2);
                problem.cause = Some(HiddenCause::Unavailable(cause.to_string()));
                problem
            }
            ServiceError::Internal(cause) | ServiceError::Setup(cause) => {
                let mut problem = Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "The error was logged with this response's x-request-id.",
                );
                problem.cause = Some(HiddenCause::Internal(format!("{cause:?}")));
                problem
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("problems serialise");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(challenge) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        } else if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, allow);
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

/// Gives the router's bare 405 answers (an `Allow` header and no body) the
/// problem+json body every other error has, keeping the router's `Allow`.
pub async fn explain_method_not_allowed(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let allow = response
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(str::trim).collect::<Vec<_>>().join(", "))
        .and_then(|v| HeaderValue::from_str(&v).ok())
        .unwrap_or_else(|| HeaderValue::from_static(""));
    Problem::method_not_allowed(allow).into_response()
}
