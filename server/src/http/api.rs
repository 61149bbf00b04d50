//! The REST API under `/api`: each route a thin shim over the service.
//!
//! This file is the route table. Every operation is declared once, with
//! `#[utoipa::path]` on its handler, and `routes()` builds both the axum
//! router and the OpenAPI document from those declarations, so the two
//! cannot disagree. The 405 answers and their `Allow` header come from the
//! same router.

use std::sync::OnceLock;

use app::ssr::RequestInfo;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use futures_util::StreamExt as _;
use regen_domain::{
    ActivityBucket, AuditEventType, AuditRecord, JobDetail, JobStats, JobStatus, JobSummary,
};
use regen_service::{
    ActivityQuery, AuditQuery, Export, ExportFormat, ListQuery, ServiceError, StatsQuery,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::Problem;
use super::state::AppState;

pub const API_PREFIX: &str = "/api";
pub const JOBS_PATH: &str = "/api/admin/regeneration-jobs";
pub const AUDIT_PATH: &str = "/api/admin/audit-events";
/// A trigger needs no body; anything bigger than this is refused.
pub const TRIGGER_BODY_LIMIT: usize = 16 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "regen-admin",
        description = "Admin control plane for content regeneration jobs: list, inspect, trigger a PENDING job."
    ),
    servers((url = "/api")),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Token from `regen-admin token create NAME`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The API's routes and their description, from the one set of declarations.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list_jobs))
        .routes(routes!(job_stats))
        .routes(routes!(export_jobs))
        .routes(routes!(job_activity))
        .routes(routes!(list_audit_events))
        .routes(routes!(export_audit_events))
        .routes(routes!(get_job))
        .routes(routes!(trigger_job))
        .routes(routes!(openapi_document))
        .split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    (router, document)
}

/// The `/api` router (nested under `/api`). It has no fallback of its own:
/// axum flattens a nested router only without one, and only flattened
/// routes get their `Allow` header on a 405. Unknown paths are
/// [`unknown_path`]'s.
pub fn router() -> Router<AppState> {
    routes().0
}

/// Every other path under `/api`.
pub async fn unknown_path() -> Problem {
    Problem::not_found("There is no API route at this path.")
}

/// The OpenAPI 3.1 document of this API, as served at `/api/openapi.json`.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| routes().1)
}

/// The listing's query parameters, as the document describes them. The
/// handler reads them through `ListQuery`, which enforces exactly these
/// constraints (a test holds the two together); this type only describes.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListParameters {
    /// Page size.
    #[param(minimum = 1, maximum = 500, default = 50)]
    limit: Option<u32>,
    /// Opaque; taken from a `Link` header.
    #[param(pattern = r"^[on][0-9a-f]{1,11}\.[0-9a-f]{32}$")]
    cursor: Option<String>,
    /// Repeat for several statuses; none means every status.
    #[param(style = Form, explode, inline)]
    status: Option<Vec<JobStatus>>,
    #[param(rename = "targetType", max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
    #[param(rename = "targetId", max_length = 200, pattern = r"^[^\u0000]*$")]
    target_id: Option<String>,
    /// Jobs created at or after this instant (RFC 3339).
    #[param(rename = "createdFrom", schema_with = instant_or_empty)]
    created_from: Option<String>,
    /// Jobs created before this instant (RFC 3339); the window is half-open.
    #[param(rename = "createdTo", schema_with = instant_or_empty)]
    created_to: Option<String>,
    /// Exactly this creator.
    #[param(rename = "createdBy", max_length = 200, pattern = r"^[^\u0000]*$")]
    created_by: Option<String>,
}

/// An RFC 3339 instant, or empty: a filter form sends unused fields empty,
/// and an empty field is no filter.
fn instant_or_empty() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .build()
        .into()
}

const PROBLEM: &str = "application/problem+json";

/// What every operation on the data can answer besides its own outcomes.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum ServiceErrors {
    #[response(status = 401, description = "No or invalid credentials",
        content_type = "application/problem+json", headers(("WWW-Authenticate" = String)))]
    Unauthenticated(#[to_schema] Problem),
    #[response(
        status = 403,
        description = "Authenticated, but not an admin",
        content_type = "application/problem+json"
    )]
    Forbidden(#[to_schema] Problem),
    #[response(
        status = 500,
        description = "Internal error (logged with the request id)",
        content_type = "application/problem+json"
    )]
    Internal(#[to_schema] Problem),
    #[response(status = 503, description = "Database unavailable; nothing changed; retry after `Retry-After` seconds",
        content_type = "application/problem+json", headers(("Retry-After" = u32)))]
    Unavailable(#[to_schema] Problem),
}

/// List jobs, newest first (createdAt DESC, id DESC), without payloads.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs",
    operation_id = "listJobs",
    params(ListParameters),
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
async fn list_jobs(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let query = ListQuery::from_query_string(query.as_deref().unwrap_or(""))?;
        let page = state
            .service
            .list_jobs(info.caller.as_ref(), &query)
            .await?;
        Ok::<_, regen_service::ServiceError>((query, page))
    }
    .await;
    let (query, page) = match result {
        Ok(found) => found,
        Err(error) => return Problem::from_service(error, &info.request_id).into_response(),
    };
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
    response
}

/// `Link` header value for a page's neighbours.
fn page_links(
    path: &str,
    next: &Option<String>,
    prev: &Option<String>,
    query: impl Fn(&str) -> String,
) -> Option<HeaderValue> {
    let links: Vec<String> = [(next, "next"), (prev, "prev")]
        .into_iter()
        .filter_map(|(cursor, rel)| {
            cursor
                .as_deref()
                .map(|c| format!("<{path}?{}>; rel=\"{rel}\"", query(c)))
        })
        .collect();
    if links.is_empty() {
        return None;
    }
    HeaderValue::from_str(&links.join(", ")).ok()
}

/// The export's `format`, taken out of the query; the rest are filters.
fn export_request(
    query: Option<&str>,
) -> Result<(ExportFormat, Vec<(String, String)>), ServiceError> {
    let mut format = None;
    let mut filters = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key == "format" {
            if format.is_some() {
                return Err(ServiceError::InvalidInput(
                    "query parameter \"format\" given twice".into(),
                ));
            }
            format = Some(value.into_owned());
        } else {
            filters.push((key.into_owned(), value.into_owned()));
        }
    }
    Ok((ExportFormat::parse(format.as_deref())?, filters))
}

/// Streams an export: one chunk per page, read as the client reads. A
/// failure mid-way ends the body with an error (the connection is cut
/// before the final chunk), so no client takes a short file for a whole one.
fn stream_export(export: Export) -> Response {
    let content_type = export.format().content_type();
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let chunks = futures_util::stream::unfold(export, |mut export| async move {
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(axum::body::Bytes::from(chunk)), export)),
            Ok(None) => None,
            Err(error) => Some((Err(std::io::Error::other(error.to_string())), export)),
        }
    })
    // The compression layer polls once more after the end.
    .fuse();
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ExportFormatParameter {
    /// `csv` (RFC 4180, a header row, formula-safe cells) or `ndjson` (one JSON object per line).
    #[param(inline)]
    format: ExportFormatName,
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum ExportFormatName {
    Csv,
    Ndjson,
}

/// Every job the listing with these filters shows, streamed as CSV or NDJSON.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/export",
    operation_id = "exportJobs",
    params(ExportFormatParameter, ListFilterParameters),
    responses(
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`). CSV has the list columns; an NDJSON line is the full record with its JSON fields verbatim. A stream cut before its end means the export failed.",
            content((String = "text/csv"), (String = "application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename naming the filters and the time"))),
        (status = 400, description = "Unknown `format`, an invalid filter, or a limit or cursor", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn export_jobs(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let (format, filters) = export_request(query.as_deref())?;
        let query = ListQuery::from_pairs(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        state
            .service
            .export_jobs(info.caller.as_ref(), query, format)
            .await
    }
    .await;
    match result {
        Ok(export) => stream_export(export),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
enum BucketName {
    Hour,
    Day,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ActivityParameters {
    /// Bucket size (UTC edges); default `hour`.
    #[param(inline)]
    bucket: Option<BucketName>,
    /// Start of the range (RFC 3339), floored to its bucket; default: 24 hours or 30 days before `to`.
    #[param(schema_with = instant_or_empty)]
    from: Option<String>,
    /// End of the range (RFC 3339, exclusive), rounded up to a bucket edge; default: the end of the current bucket.
    #[param(schema_with = instant_or_empty)]
    to: Option<String>,
    /// Only jobs of this target type.
    #[param(rename = "targetType", max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
}

/// Jobs over time: per bucket, the jobs created in it by their status now,
/// and the triggers in it; oldest first, empty buckets included, at most
/// 1,000 buckets. Read from hourly counters the database keeps, so the
/// cost does not grow with the number of jobs.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/activity",
    operation_id = "jobActivity",
    params(ActivityParameters),
    responses(
        (status = 200, description = "The buckets, oldest first", body = [ActivityBucket]),
        (status = 400, description = "A bad bucket or range (from not before to, more than 1,000 buckets), or an unknown parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn job_activity(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let query =
            ActivityQuery::from_query_string(query.as_deref().unwrap_or(""), regen_service::now())?;
        state
            .service
            .job_activity(info.caller.as_ref(), &query)
            .await
    }
    .await;
    match result {
        Ok(buckets) => Json(buckets).into_response(),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

/// The list filters, without page size or cursor (exports take every row).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListFilterParameters {
    #[param(style = Form, explode, inline)]
    status: Option<Vec<JobStatus>>,
    #[param(rename = "targetType", max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
    #[param(rename = "targetId", max_length = 200, pattern = r"^[^\u0000]*$")]
    target_id: Option<String>,
    #[param(rename = "createdFrom", schema_with = instant_or_empty)]
    created_from: Option<String>,
    #[param(rename = "createdTo", schema_with = instant_or_empty)]
    created_to: Option<String>,
    #[param(rename = "createdBy", max_length = 200, pattern = r"^[^\u0000]*$")]
    created_by: Option<String>,
}

/// The audit filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuditFilterParameters {
    /// Repeat for several types; none means every type.
    #[param(rename = "eventType", style = Form, explode, inline)]
    event_type: Option<Vec<AuditEventType>>,
    /// The stored actor: a user id, or a producer's name.
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    actor: Option<String>,
    /// A user's name (or a producer's, which is its own name).
    #[param(rename = "actorName", max_length = 200, pattern = r"^[^\u0000]*$")]
    actor_name: Option<String>,
    /// One job's events.
    #[param(rename = "jobId", schema_with = uuid_or_empty)]
    job_id: Option<String>,
    /// Events at or after this instant (RFC 3339).
    #[param(rename = "occurredFrom", schema_with = instant_or_empty)]
    occurred_from: Option<String>,
    /// Events before this instant (RFC 3339); the window is half-open.
    #[param(rename = "occurredTo", schema_with = instant_or_empty)]
    occurred_to: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PageParameters {
    /// Page size.
    #[param(minimum = 1, maximum = 500, default = 50)]
    limit: Option<u32>,
    /// Opaque; taken from a `Link` header.
    #[param(pattern = r"^[on][0-9a-f]{1,11}\.[0-9a-f]{32}$")]
    cursor: Option<String>,
}

/// A UUID, or empty (an unused form field).
fn uuid_or_empty() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .build()
        .into()
}

/// Audit events across all jobs, newest first (occurredAt DESC, id DESC).
#[utoipa::path(
    get,
    path = "/admin/audit-events",
    operation_id = "listAuditEvents",
    params(PageParameters, AuditFilterParameters),
    responses(
        (status = 200, description = "A page of events; `Link: <…>; rel=\"next\"` (and `rel=\"prev\"`) announce its neighbours",
            body = [AuditRecord], headers(("Link" = String, description = "RFC 8288 links to the next and previous pages"))),
        (status = 400, description = "Invalid, unknown or repeated query parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn list_audit_events(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let query = AuditQuery::from_query_string(query.as_deref().unwrap_or(""))?;
        let page = state
            .service
            .list_audit_events(info.caller.as_ref(), &query)
            .await?;
        Ok::<_, ServiceError>((query, page))
    }
    .await;
    let (query, page) = match result {
        Ok(found) => found,
        Err(error) => return Problem::from_service(error, &info.request_id).into_response(),
    };
    let links = page_links(AUDIT_PATH, &page.next_cursor, &page.prev_cursor, |c| {
        query.to_query_string(Some(c))
    });
    let mut response = Json(page.events).into_response();
    if let Some(links) = links {
        response.headers_mut().insert(header::LINK, links);
    }
    response
}

/// Every audit event these filters select, streamed as CSV or NDJSON.
#[utoipa::path(
    get,
    path = "/admin/audit-events/export",
    operation_id = "exportAuditEvents",
    params(ExportFormatParameter, AuditFilterParameters),
    responses(
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`). An NDJSON line is the audit API's object. A stream cut before its end means the export failed.",
            content((String = "text/csv"), (String = "application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename naming the filters and the time"))),
        (status = 400, description = "Unknown `format`, an invalid filter, or a limit or cursor", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn export_audit_events(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let (format, filters) = export_request(query.as_deref())?;
        let query = AuditQuery::from_pairs(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        state
            .service
            .export_audit_events(info.caller.as_ref(), query, format)
            .await
    }
    .await;
    match result {
        Ok(export) => stream_export(export),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct StatsParameters {
    /// Restrict every figure to this target type.
    #[param(rename = "targetType", max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
}

/// Exact job counts by status and target type, and the oldest PENDING job.
/// Costs the same at any number of jobs: the database keeps the counts in
/// the same transaction as every insert and trigger.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/stats",
    operation_id = "jobStats",
    params(StatsParameters),
    responses(
        (status = 200, description = "The counts; `byStatus` always has all four statuses", body = JobStats),
        (status = 400, description = "Invalid, unknown or repeated query parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn job_stats(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let query = StatsQuery::from_query_string(query.as_deref().unwrap_or(""))?;
        state
            .service
            .job_stats(info.caller.as_ref(), query.target_type.as_deref())
            .await
    }
    .await;
    match result {
        Ok(stats) => Json(stats).into_response(),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

/// One job with its JSON payloads (verbatim) and audit trail.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/{jobId}",
    operation_id = "getJob",
    params(("jobId" = String, Path, format = Uuid, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = JobDetail),
        (status = 404, description = "Unknown or malformed id", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn get_job(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Response {
    match state.service.get_job(info.caller.as_ref(), &id).await {
        Ok(job) => Json(job).into_response(),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

/// PENDING → RUNNING, audited; nothing else changes and nothing runs.
#[utoipa::path(
    post,
    path = "/admin/regeneration-jobs/{jobId}/trigger",
    operation_id = "triggerJob",
    params(("jobId" = String, Path, format = Uuid, description = "The job's id")),
    responses(
        (status = 200, description = "Triggered: the job as it is now (RUNNING)", body = JobSummary),
        (status = 404, description = "Unknown or malformed id", body = Problem, content_type = PROBLEM),
        (status = 409, description = "The job is not PENDING; `currentStatus` names its status", body = Problem, content_type = PROBLEM),
        (status = 413, description = "Request body over 16 KiB (a trigger needs none)", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
async fn trigger_job(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    // The body is ignored, but read up to the limit so that an oversized one
    // is refused instead of silently accepted.
    if axum::body::to_bytes(body, TRIGGER_BODY_LIMIT)
        .await
        .is_err()
    {
        return Problem::body_too_large(TRIGGER_BODY_LIMIT).into_response();
    }
    match state
        .service
        .trigger_job(info.caller.as_ref(), &id, Some(&info.request_id))
        .await
    {
        Ok(triggered) => Json(triggered.job).into_response(),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    responses(
        (status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object),
        ServiceErrors,
    )
)]
async fn openapi_document() -> Response {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    let body = JSON.get_or_init(|| {
        openapi()
            .to_json()
            .expect("the document serialises")
            .into_bytes()
    });
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.as_slice(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(name: &str) -> serde_json::Value {
        let document = serde_json::to_value(openapi()).unwrap();
        document["paths"]["/admin/regeneration-jobs"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no parameter {name}"))
    }

    #[test]
    fn the_described_limits_are_the_ones_the_service_enforces() {
        let limit = parameter("limit");
        assert_eq!(limit["schema"]["maximum"], regen_service::MAX_PAGE_SIZE);
        assert_eq!(limit["schema"]["default"], regen_service::DEFAULT_PAGE_SIZE);
        assert_eq!(
            parameter("cursor")["schema"]["pattern"],
            regen_service::CURSOR_PATTERN
        );
        for label in ["targetType", "targetId"] {
            assert_eq!(
                parameter(label)["schema"]["maxLength"],
                regen_domain::MAX_LABEL_LEN
            );
        }
    }
}
