//! `Idempotency-Key` on the API's state changes: the request's key is
//! claimed through the service, the request runs holding it, and its answer
//! is kept for replay (`Idempotent-Replayed: true`). Without the header,
//! the request simply runs.

use std::future::Future;

use app::ssr::RequestInfo;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use regen_service::{Admission, IdempotencyKey, KeyedRequest, StoredAnswer};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::responses::PROBLEM;
use crate::http::problem::Problem;
use crate::http::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// A success answer: 200 with `value` as JSON, the exact bytes both sent
/// and kept under the key.
pub fn json_answer(value: &impl Serialize) -> StoredAnswer {
    StoredAnswer {
        status: 200,
        body: serde_json::to_string(value).expect("answers serialise"),
    }
}

fn respond(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        answer.body,
    )
        .into_response()
}

/// What identifies a request under its key: a hash of its method, path and
/// body. The same key with another fingerprint is a 422.
fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
        hash.update(part);
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Runs `run` once per key: with no `Idempotency-Key`, as it is; with one,
/// only if the key is new (or free again), else the kept answer, a 409
/// (still running) or a 422 (another request). `run` gets the claim and
/// must keep a success's answer under it in its own transaction (the
/// service's keyed methods do); a refusal is kept here, and a 5xx (nothing
/// changed) gives the key back so that a retry runs afresh.
pub async fn answer_once<F, Fut>(
    state: &AppState,
    info: &RequestInfo,
    headers: &HeaderMap,
    (method, path, body): (&str, &str, &[u8]),
    run: F,
) -> Result<Response, Problem>
where
    F: FnOnce(Option<KeyedRequest>) -> Fut,
    Fut: Future<Output = Result<StoredAnswer, Problem>>,
{
    let Some(raw) = headers.get(IDEMPOTENCY_KEY) else {
        return run(None).await.map(respond);
    };
    let key = IdempotencyKey::parse(raw.as_bytes())?;
    let admission = state
        .service
        .admit_keyed(info.caller.as_ref(), &key, &fingerprint(method, path, body))
        .await?;
    let keyed = match admission {
        Admission::Replay(answer) => {
            let mut response = respond(answer);
            response
                .headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            return Ok(response);
        }
        Admission::Run(keyed) => keyed,
    };
    match run(Some(keyed.clone())).await {
        Ok(answer) => Ok(respond(answer)),
        Err(problem) if problem.status >= 500 => {
            state.service.release_keyed(&keyed).await;
            Err(problem)
        }
        Err(problem) => {
            let answer = StoredAnswer {
                status: problem.status,
                body: serde_json::to_string(&problem).expect("problems serialise"),
            };
            state.service.finish_keyed(&keyed, &answer).await;
            Err(problem)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_changes_with_method_path_and_body() {
        let base = fingerprint("POST", "/a", b"{}");
        assert_eq!(base, fingerprint("POST", "/a", b"{}"));
        assert_ne!(base, fingerprint("PUT", "/a", b"{}"));
        assert_ne!(base, fingerprint("POST", "/b", b"{}"));
        assert_ne!(base, fingerprint("POST", "/a", b"{ }"));
        // The separators keep parts from running into each other.
        assert_ne!(
            fingerprint("POST", "/a\nb", b""),
            fingerprint("POST", "/a", b"b")
        );
    }
}
