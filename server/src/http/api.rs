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
use regen_domain::{JobDetail, JobStats, JobStatus, JobSummary};
use regen_service::{ListQuery, StatsQuery};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::Problem;
use super::state::AppState;

pub const API_PREFIX: &str = "/api";
pub const JOBS_PATH: &str = "/api/admin/regeneration-jobs";
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
    let link = |cursor: &str, rel: &str| {
        format!(
            "<{JOBS_PATH}?{}>; rel=\"{rel}\"",
            query.to_query_string(Some(cursor))
        )
    };
    let links: Vec<String> = [(&page.next_cursor, "next"), (&page.prev_cursor, "prev")]
        .into_iter()
        .filter_map(|(cursor, rel)| cursor.as_deref().map(|c| link(c, rel)))
        .collect();
    let mut response = Json(page.jobs).into_response();
    if let Some(searched) = page.searched_without_filling {
        response
            .headers_mut()
            .insert("x-scan-stopped-after", HeaderValue::from(searched));
    }
    if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
        if !links.is_empty() {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
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
