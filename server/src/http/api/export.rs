//! Exports: every job or audit event a set of filters selects, streamed.

use app::ssr::RequestInfo;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::StreamExt as _;
use regen_service::{Export, ExportFormat};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::audit::AuditFilters;
use super::jobs::JobFilters;
use super::query::QueryParts;
use super::responses::{ServiceErrors, PROBLEM};
use crate::http::problem::Problem;
use crate::http::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatParameter {
    /// `csv` (RFC 4180, a header row, formula-safe cells) or `ndjson` (one JSON object per line).
    #[param(inline)]
    format: FormatName,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum FormatName {
    Csv,
    Ndjson,
}

impl From<FormatParameter> for ExportFormat {
    fn from(parameter: FormatParameter) -> ExportFormat {
        match parameter.format {
            FormatName::Csv => ExportFormat::Csv,
            FormatName::Ndjson => ExportFormat::Ndjson,
        }
    }
}

/// Every job the listing with these filters shows, streamed as CSV or NDJSON.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/export",
    operation_id = "exportJobs",
    params(FormatParameter, JobFilters),
    responses(
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`). CSV has the list columns; an NDJSON line is the full record with its JSON fields verbatim. A stream cut before its end means the export failed.",
            content((String = "text/csv"), (String = "application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename naming the filters and the time"))),
        (status = 400, description = "Unknown `format`, an invalid filter, or a limit or cursor", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn export_jobs(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    QueryParts(format, filters): QueryParts<FormatParameter, JobFilters>,
) -> Result<Response, Problem> {
    let export = state
        .service
        .export_jobs(
            info.caller.as_ref(),
            filters.into_query(None),
            format.into(),
        )
        .await?;
    Ok(stream_export(export))
}

/// Every audit event these filters select, streamed as CSV or NDJSON.
#[utoipa::path(
    get,
    path = "/admin/audit-events/export",
    operation_id = "exportAuditEvents",
    params(FormatParameter, AuditFilters),
    responses(
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`). An NDJSON line is the audit API's object. A stream cut before its end means the export failed.",
            content((String = "text/csv"), (String = "application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename naming the filters and the time"))),
        (status = 400, description = "Unknown `format`, an invalid filter, or a limit or cursor", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn export_audit_events(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    QueryParts(format, filters): QueryParts<FormatParameter, AuditFilters>,
) -> Result<Response, Problem> {
    let export = state
        .service
        .export_audit_events(
            info.caller.as_ref(),
            filters.into_query(None),
            format.into(),
        )
        .await?;
    Ok(stream_export(export))
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
