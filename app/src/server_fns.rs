//! Server functions: public HTTP endpoints, each a thin shim over the
//! service, which authorises the caller itself. The server's default-deny
//! layer and its `/rpc` input checks stand in front of them as a second
//! line of defence, not the first.

use leptos::prelude::*;
// JSON in both directions: the browser bundle then needs one codec, not two
// (the no-JavaScript form posts to a plain axum route instead).
use leptos::server_fn::codec::Json;
use regen_domain::TriggerOutcome;

/// Triggers a PENDING job (PENDING → RUNNING), exactly like the REST route,
/// and says what happened in the words the detail page shows.
#[server(prefix = "/rpc", endpoint = "trigger_job", input = Json)]
pub async fn trigger_job(job_id: String) -> Result<TriggerOutcome, ServerFnError> {
    use http::StatusCode;
    use regen_service::ServiceError as E;

    let info = crate::ssr::request_info();
    let result = crate::ssr::service()
        .trigger_job(info.caller.as_ref(), &job_id, Some(&info.request_id))
        .await;
    if let Some(outcome) = regen_service::trigger_outcome(&result) {
        if let Err(E::Unavailable(cause)) = &result {
            tracing::warn!(request_id = %info.request_id, error = %cause, "trigger: database unavailable");
        }
        return Ok(outcome);
    }
    let (status, message) = match result {
        Err(E::Unauthenticated) => (StatusCode::UNAUTHORIZED, "authentication required"),
        Err(E::Forbidden) => (StatusCode::FORBIDDEN, "admin role required"),
        Err(E::InsufficientScope) => (StatusCode::FORBIDDEN, "this credential may only read"),
        other => {
            tracing::error!(request_id = %info.request_id, error = ?other.err(), "trigger failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    };
    crate::ssr::set_status(status);
    Err(ServerFnError::ServerError(message.to_owned()))
}
