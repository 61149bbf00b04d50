//! Server functions: public HTTP endpoints, each a thin shim over the
//! service, which authorises the caller itself. The server's default-deny
//! layer in front of `/rpc/` is a second line of defence, not the first.

use leptos::prelude::*;
// JSON in both directions: the browser bundle then needs one codec, not two
// (the no-JavaScript form posts to a plain axum route instead).
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// What a trigger did, as the trigger button needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerReply {
    Triggered,
    /// Someone else was faster (or the job was never PENDING).
    Conflict {
        current: String,
    },
    NotFound,
    /// The database did not answer; nothing changed.
    Unavailable,
}

impl TriggerReply {
    /// The `?outcome=` the detail page shows after a trigger attempt.
    pub fn outcome(&self) -> &'static str {
        match self {
            TriggerReply::Triggered => "triggered",
            TriggerReply::Conflict { .. } => "conflict",
            TriggerReply::NotFound => "notfound",
            TriggerReply::Unavailable => "unavailable",
        }
    }
}

/// Triggers a PENDING job (PENDING → RUNNING), exactly like the REST route.
#[server(prefix = "/rpc", endpoint = "trigger_job", input = Json)]
pub async fn trigger_job(job_id: String) -> Result<TriggerReply, ServerFnError> {
    use http::StatusCode;
    use regen_service::ServiceError as E;

    let info = crate::ssr::request_info();
    let result = crate::ssr::service()
        .trigger_job(info.caller.as_ref(), &job_id, Some(&info.request_id))
        .await;
    let refuse = |status: StatusCode, message: &str| {
        crate::ssr::set_status(status);
        Err(ServerFnError::ServerError(message.to_owned()))
    };
    match result {
        Ok(_) => Ok(TriggerReply::Triggered),
        Err(E::Conflict { current }) => Ok(TriggerReply::Conflict {
            current: current.to_string(),
        }),
        Err(E::NotFound) => Ok(TriggerReply::NotFound),
        Err(E::Unavailable(cause)) => {
            tracing::warn!(request_id = %info.request_id, error = %cause, "trigger: database unavailable");
            Ok(TriggerReply::Unavailable)
        }
        Err(E::Unauthenticated) => refuse(StatusCode::UNAUTHORIZED, "authentication required"),
        Err(E::Forbidden) => refuse(StatusCode::FORBIDDEN, "admin role required"),
        Err(other) => {
            tracing::error!(request_id = %info.request_id, error = ?other, "trigger failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
