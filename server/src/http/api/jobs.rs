//! Jobs: the listing, one job, the trigger.

use app::ssr::RequestInfo;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use regen_domain::{JobDetail, JobStatus, JobSummary};
use regen_service::ListQuery;
use serde::Deserialize;
use serde_html_form::de::empty_as_none;
use utoipa::IntoParams;

use super::idempotency::{answer_once, json_answer};
use super::query::{instant_or_empty, page_links, PageParameters, QueryParts};
use super::responses::{ServiceErrors, PROBLEM};
use crate::http::problem::Problem;
use crate::http::state::AppState;

pub const JOBS_PATH: &str = "/api/admin/regeneration-jobs";
/// A trigger needs no body; anything bigger than this is refused.
pub const TRIGGER_BODY_LIMIT: usize = 16 * 1024;

/// The listing's filters, shared by the listing and the export. An empty
/// value is no filter (a form sends unused fields empty), except `status`:
/// a checkbox is never empty, so an empty status is a mistake.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobFilters {
    /// Repeat for several statuses; none means every status.
    #[serde(default)]
    #[param(value_type = Option<Vec<JobStatus>>, style = Form, explode, inline)]
    status: Vec<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    target_id: Option<String>,
    /// Jobs created at or after this instant (RFC 3339).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(schema_with = instant_or_empty)]
    created_from: Option<String>,
    /// Jobs created before this instant (RFC 3339); the window is half-open.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(schema_with = instant_or_empty)]
    created_to: Option<String>,
    /// Exactly this creator.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    created_by: Option<String>,
}

impl JobFilters {
    /// The service's listing request: these filters on this page (an
    /// export has none: it takes every row).
    pub fn into_query(self, page: Option<PageParameters>) -> ListQuery {
        let (limit, cursor) = page.map_or((None, None), |p| (p.limit, p.cursor));
        ListQuery {
            limit,
            cursor,
            statuses: self.status,
            target_type: self.target_type,
            target_id: self.target_id,
            created_from: self.created_from,
            created_to: self.created_to,
            created_by: self.created_by,
        }
    }
}

/// List jobs, newest first (createdAt DESC, id DESC), without payloads.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs",
    operation_id = "listJobs",
    params(PageParameters, JobFilters),
    responses(
        (status = 200, description = "A page of jobs; `Link: <…>; rel=\"next\"` (and `rel=\"prev\"`) announce its neighbours",
            body = [JobSummary], headers(
                ("Link" = String, description = "RFC 8288 links to the next and previous pages"),
                ("X-Scan-Stopped-After" = u32, description = "Present when the filters needed a scan that examined this many jobs without filling the page (the page may even be empty): `rel=\"next\"` resumes where it stopped"),
            )),
        (status = 400, description = "Invalid, unknown or repeated query parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    QueryParts(page, filters): QueryParts<PageParameters, JobFilters>,
) -> Result<Response, Problem> {
    let query = filters.into_query(Some(page));
    let page = state
        .service
        .list_jobs(info.caller.as_ref(), &query)
        .await?;
    let links = page_links(JOBS_PATH, &page.next_cursor, &page.prev_cursor, |c| {
        query.to_query_string(Some(c))
    });
    let mut response = Json(page.jobs).into_response();
    if let Some(searched) = page.searched_without_filling {
        response
            .headers_mut()
            .insert("x-scan-stopped-after", HeaderValue::from(searched));
    }
    if let Some(links) = links {
        response.headers_mut().insert(header::LINK, links);
    }
    Ok(response)
}

/// One job with its JSON payloads (verbatim, but for the values redaction
/// hides) and audit trail.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/{jobId}",
    operation_id = "getJob",
    params(("jobId" = String, Path, format = Uuid, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobDetail, headers(
            ("Regen-Redacted" = u32, description = "Present when redaction (`REGEN_REDACT_KEYS`, `REGEN_REDACT_VALUE_PATTERNS`) hid values of the payloads: how many, each now `\"[REDACTED]\"`"),
        )),
        (status = 404, description = "Unknown or malformed id", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn get_job(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let job = state.service.get_job(info.caller.as_ref(), &id).await?;
    let hidden = job.hidden.count();
    Ok(with_redacted_count(Json(job).into_response(), hidden))
}

/// The response header that says how many payload values redaction hid
/// (`Regen-Redacted`; header names are case-insensitive).
pub const REDACTED_HEADER: &str = "regen-redacted";

/// Says on `response` how many values redaction hid, when it hid any.
pub fn with_redacted_count(mut response: Response, hidden: usize) -> Response {
    if hidden > 0 {
        response
            .headers_mut()
            .insert(REDACTED_HEADER, HeaderValue::from(hidden));
    }
    response
}

/// PENDING → RUNNING, audited; nothing else changes and nothing runs.
#[utoipa::path(
    post,
    path = "/admin/regeneration-jobs/{jobId}/trigger",
    operation_id = "triggerJob",
    params(
        ("jobId" = String, Path, format = Uuid, description = "The job's id"),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$",
            description = "Send the request again with the same key (same credential owner, same body, within 24 hours) to get its first answer again instead of a 409"),
    ),
    responses(
        (status = 200, description = "Triggered: the job as it is now (RUNNING); with `Idempotent-Replayed: true`, the first answer under this key", body = JobSummary,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "A malformed Idempotency-Key", body = Problem, content_type = PROBLEM),
        (status = 404, description = "Unknown or malformed id", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The job is not PENDING (`currentStatus` names its status), or a request with this Idempotency-Key is still running", body = Problem, content_type = PROBLEM),
        (status = 413, description = "Request body over 16 KiB (a trigger needs none)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "This Idempotency-Key was used for another request", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn trigger_job(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    // The body is ignored, but read up to the limit so that an oversized one
    // is refused instead of silently accepted (and an idempotency key's
    // fingerprint covers it).
    let body = axum::body::to_bytes(body, TRIGGER_BODY_LIMIT)
        .await
        .map_err(|_| Problem::body_too_large(TRIGGER_BODY_LIMIT))?;
    let path = format!("{JOBS_PATH}/{id}/trigger");
    let service = &state.service;
    let (caller, request_id, id) = (info.caller.as_ref(), info.request_id.as_str(), &id);
    answer_once(
        &state,
        &info,
        &headers,
        ("POST", &path, &body[..]),
        |key| async move {
            let triggered = service
                .trigger_job_keyed(caller, id, Some(request_id), key.as_ref())
                .await?;
            Ok(json_answer(&triggered.job))
        },
    )
    .await
}
