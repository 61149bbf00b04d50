//! The bulk trigger: many PENDING jobs in one request, by id or by the
//! list filters, each moved to RUNNING exactly once.

use app::ssr::RequestInfo;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use regen_domain::BulkTriggerResult;
use regen_service::{BulkFilter, BulkSelection};
use serde::Deserialize;
use utoipa::ToSchema;

use super::idempotency::{answer_once, json_answer};
use super::query::instant_empty_or_null;
use super::responses::{ServiceErrors, PROBLEM};
use crate::http::problem::Problem;
use crate::http::state::AppState;

pub const BULK_TRIGGER_PATH: &str = "/api/admin/regeneration-jobs/bulk-trigger";
/// The largest `expectedCount` the description allows (its `maximum`).
const MAX_EXPECTED_COUNT: u64 = 1_000_000_000;

/// Either the jobs' ids, or the list filters with the count the caller was
/// shown (and confirmed).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BulkTriggerRequest {
    Ids(BulkTriggerByIds),
    Filter(BulkTriggerByFilter),
}

/// The jobs with these ids (duplicates count once; ids no job has are
/// answered in `notFound`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTriggerByIds {
    /// 1 to `REGEN_BULK_TRIGGER_MAX` (default 1,000) ids.
    #[schema(min_items = 1)]
    ids: Vec<String>,
}

/// The PENDING jobs these filters select, if they are exactly
/// `expectedCount`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkTriggerByFilter {
    filter: BulkTriggerFilter,
    /// The number of jobs the filter selected when the caller looked; any
    /// other number now is a 409 with `currentCount`, and nothing changes.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    #[serde(deserialize_with = "whole_number")]
    expected_count: u64,
}

/// A JSON integer however it is spelt: JSON Schema, and so every client
/// that validates against the description, counts `5664.0` as 5664.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_u64() {
        return Ok(whole);
    }
    match number.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= MAX_EXPECTED_COUNT as f64 => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format!(
            "expectedCount must be a whole number from 0, not {number}"
        ))),
    }
}

/// The list's filters (an empty value is no filter). The status is always
/// PENDING.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkTriggerFilter {
    /// Only PENDING jobs are ever triggered: any other status is a 400.
    #[schema(pattern = "^PENDING$")]
    status: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    target_id: Option<String>,
    /// Exactly this creator.
    #[schema(max_length = 200, pattern = r"^[^\u0000]*$")]
    created_by: Option<String>,
    /// Jobs created at or after this instant (RFC 3339).
    #[schema(schema_with = instant_empty_or_null)]
    created_from: Option<String>,
    /// Jobs created before this instant (RFC 3339); the window is half-open.
    #[schema(schema_with = instant_empty_or_null)]
    created_to: Option<String>,
}

/// The body as the service takes it, or what is wrong with it (a 400).
fn selection(body: &[u8]) -> Result<BulkSelection, String> {
    let invalid = |error: serde_json::Error| format!("body: {error}");
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    // Read as the form the body names, so that an error names its field.
    let request = if value.get("ids").is_some() {
        BulkTriggerRequest::Ids(serde_json::from_value(value).map_err(invalid)?)
    } else {
        BulkTriggerRequest::Filter(serde_json::from_value(value).map_err(invalid)?)
    };
    let by_filter = match request {
        BulkTriggerRequest::Ids(by_ids) => return Ok(BulkSelection::Ids(by_ids.ids)),
        BulkTriggerRequest::Filter(by_filter) => by_filter,
    };
    // As described: a larger number is not a count anyone was shown.
    if by_filter.expected_count > MAX_EXPECTED_COUNT {
        return Err(format!(
            "expectedCount must be at most {MAX_EXPECTED_COUNT}"
        ));
    }
    let f = by_filter.filter;
    Ok(BulkSelection::Filter {
        filter: BulkFilter {
            status: f.status,
            target_type: f.target_type,
            target_id: f.target_id,
            created_by: f.created_by,
            created_from: f.created_from,
            created_to: f.created_to,
        },
        expected_count: by_filter.expected_count,
    })
}

/// Trigger many PENDING jobs at once, within the request: each goes
/// PENDING → RUNNING exactly once with its own REGEN_JOB_TRIGGERED audit row
/// whose `details` carry `bulkId`.
#[utoipa::path(
    post,
    path = "/admin/regeneration-jobs/bulk-trigger",
    operation_id = "bulkTriggerJobs",
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$",
            description = "Send the request again with the same key (same credential owner, same body, within 24 hours) to get its first answer again instead of running it twice"),
    ),
    request_body(content = BulkTriggerRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What each job's trigger did; with `Idempotent-Replayed: true`, the first answer under this key", body = BulkTriggerResult,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "A malformed body, no ids, a status other than PENDING, a bad filter value or Idempotency-Key; nothing changed", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The filter now selects another number of jobs than `expectedCount` (`currentCount` says how many), or a request with this Idempotency-Key is still running; nothing changed", body = Problem, content_type = PROBLEM),
        (status = 413, description = "More ids or matching jobs than `REGEN_BULK_TRIGGER_MAX` (`maximum`), or a body over 64 KiB; nothing changed", body = Problem, content_type = PROBLEM),
        (status = 422, description = "This Idempotency-Key was used for another request; nothing changed", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn bulk_trigger(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let body = axum::body::to_bytes(body, crate::BODY_LIMIT)
        .await
        .map_err(|_| Problem::body_too_large(crate::BODY_LIMIT))?;
    let selection = selection(&body).map_err(Problem::invalid_request)?;
    let service = &state.service;
    let (caller, request_id) = (info.caller.as_ref(), info.request_id.as_str());
    let request = ("POST", BULK_TRIGGER_PATH, &body[..]);
    answer_once(&state, &info, &headers, request, |key| async move {
        let result: BulkTriggerResult = service
            .bulk_trigger(caller, &selection, Some(request_id), key.as_ref())
            .await?;
        Ok(json_answer(&result))
    })
    .await
}
