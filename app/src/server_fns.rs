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

/// `trigger_job` as the browser calls it: a plain `fetch` with these bytes,
/// not the generated client, which would bring serde_json and server_fn's
/// HTTP stack into the detail page's WASM (about 30 KB of its gzip). The
/// tests below hold this format to the server function's own.
pub mod trigger_job_wire {
    use leptos::server_fn::ServerFn;
    use regen_domain::TriggerOutcome;

    pub const PATH: &str = <super::TriggerJob as ServerFn>::PATH;

    /// The JSON input: `{"job_id": "…"}`.
    pub fn request_body(job_id: &str) -> String {
        let mut body = String::with_capacity(job_id.len() + 16);
        body.push_str(r#"{"job_id":""#);
        for c in job_id.chars() {
            match c {
                '"' => body.push_str("\\\""),
                '\\' => body.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    body.push_str("\\u00");
                    body.push(HEX[(c as usize) >> 4] as char);
                    body.push(HEX[(c as usize) & 15] as char);
                }
                c => body.push(c),
            }
        }
        body.push_str("\"}");
        body
    }

    /// The JSON output: the outcome's name as a JSON string.
    pub fn outcome(body: &str) -> Option<TriggerOutcome> {
        let name = body.trim().strip_prefix('"')?.strip_suffix('"')?;
        TriggerOutcome::parse(name)
    }

    #[cfg(all(test, feature = "ssr"))]
    mod tests {
        use super::*;
        use crate::server_fns::TriggerJob;

        #[test]
        fn request_bodies_are_the_server_functions_json_input() {
            for job_id in [
                "01934b6e-0000-7000-8000-000000000000",
                "a\"b\\c\n\u{1f}d",
                "ünï",
            ] {
                let input: TriggerJob = serde_json::from_str(&request_body(job_id)).unwrap();
                assert_eq!(input.job_id, job_id);
            }
        }

        #[test]
        fn every_outcome_reads_back_from_the_server_functions_json_output() {
            for expected in TriggerOutcome::ALL {
                let body = serde_json::to_string(&expected).unwrap();
                assert_eq!(outcome(&body), Some(expected));
            }
            assert_eq!(outcome("\"ok\""), None);
            assert_eq!(outcome("triggered"), None);
        }

        #[test]
        fn the_path_is_the_server_functions_route() {
            assert_eq!(PATH, "/rpc/trigger_job");
        }
    }
}
