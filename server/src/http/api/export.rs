//! Exports: every job or audit event a set of filters selects, streamed.

use std::time::Duration;

use app::ssr::RequestInfo;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::StreamExt as _;
use regen_service::{CredentialHash, Export, ExportFormat, ExportLimit};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};

use super::audit::AuditFilters;
use super::jobs::JobFilters;
use super::query::QueryParts;
use super::responses::{ServiceErrors, PROBLEM};
use crate::config::ExportLimits;
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
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`). CSV has the list columns; an NDJSON line is the full record with its JSON fields verbatim. A stream cut before its end means the export failed or was stopped (access taken back, its maximum duration, a client that stopped reading).",
            content((String = "text/csv"), (String = "application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename naming the filters and the time"))),
        (status = 400, description = "Unknown `format`, an invalid filter, or a limit or cursor", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn export_jobs(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    credential: Option<Extension<CredentialHash>>,
    QueryParts(format, filters): QueryParts<FormatParameter, JobFilters>,
) -> Result<Response, Problem> {
    let export = state
        .service
        .export_jobs(
            info.caller.as_ref(),
            credential.as_deref(),
            Some(&info.request_id),
            filters.into_query(None),
            format.into(),
        )
        .await?;
    Ok(stream_export(export, state.config.exports))
}

/// Every audit event these filters select, streamed as CSV or NDJSON.
#[utoipa::path(
    get,
    path = "/admin/audit-events/export",
    operation_id = "exportAuditEvents",
    params(FormatParameter, AuditFilters),
    responses(
        (status = 200, description = "The file, streamed (`Content-Disposition: attachment`). An NDJSON line is the audit API's object. A stream cut before its end means the export failed or was stopped (access taken back, its maximum duration, a client that stopped reading).",
            content((String = "text/csv"), (String = "application/x-ndjson")),
            headers(("Content-Disposition" = String, description = "attachment; filename naming the filters and the time"))),
        (status = 400, description = "Unknown `format`, an invalid filter, or a limit or cursor", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn export_audit_events(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    credential: Option<Extension<CredentialHash>>,
    QueryParts(format, filters): QueryParts<FormatParameter, AuditFilters>,
) -> Result<Response, Problem> {
    let export = state
        .service
        .export_audit_events(
            info.caller.as_ref(),
            credential.as_deref(),
            Some(&info.request_id),
            filters.into_query(None),
            format.into(),
        )
        .await?;
    Ok(stream_export(export, state.config.exports))
}

/// While an export waits for its client, how often it checks its
/// credential again (it also checks before every chunk).
const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// What the export's task hands the body.
enum Piece {
    Chunk(Bytes),
    /// The file is complete: the body may end cleanly.
    End,
}

/// Streams an export: a task of its own makes one chunk per page, one
/// ahead of the client, and the body takes them as the client reads. The
/// body ends cleanly only after [`Piece::End`]; if the task stops for any
/// other reason (a failure, access taken back, the maximum duration, a
/// client that stopped reading) the body ends with an error (the connection
/// is cut before the final chunk), so no client takes a short file for a
/// whole one. The task is what lets an export end while its client reads
/// nothing: hyper polls a body only when the client makes room.
fn stream_export(export: Export, limits: ExportLimits) -> Response {
    let content_type = export.format().content_type();
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let (sender, receiver) = mpsc::channel(1);
    tokio::spawn(produce(export, limits, sender));
    let chunks = futures_util::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await {
            Some(Piece::Chunk(bytes)) => Some((Ok(bytes), Some(receiver))),
            Some(Piece::End) => None,
            None => {
                let error = std::io::Error::other("the export stopped before its end");
                Some((Err(error), None))
            }
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

/// Makes the export's chunks until the end, or until it must stop. Each
/// way it stops is counted and logged by the export; dropping the sender
/// without [`Piece::End`] ends the body with an error.
async fn produce(mut export: Export, limits: ExportLimits, sender: mpsc::Sender<Piece>) {
    let deadline = Instant::now() + limits.max_duration;
    loop {
        let piece = match tokio::time::timeout_at(deadline, export.next_chunk()).await {
            Err(_) => return export.exceeded(ExportLimit::Duration),
            Ok(Err(_)) => return,
            Ok(Ok(Some(chunk))) => Piece::Chunk(Bytes::from(chunk)),
            Ok(Ok(None)) => Piece::End,
        };
        let end = matches!(piece, Piece::End);
        if !deliver(&mut export, &sender, piece, limits, deadline).await || end {
            return;
        }
    }
}

/// Hands one piece to the body once the client has taken the one before,
/// checking the credential every second while it waits. False when the
/// export is over instead: access was taken back, the client went away
/// (the export is then dropped, and counted as abandoned), stopped reading
/// for the idle limit, or the deadline passed.
async fn deliver(
    export: &mut Export,
    sender: &mpsc::Sender<Piece>,
    piece: Piece,
    limits: ExportLimits,
    deadline: Instant,
) -> bool {
    let idle_until = Instant::now() + limits.idle;
    let room = sender.reserve();
    tokio::pin!(room);
    loop {
        tokio::select! {
            permit = &mut room => {
                let Ok(permit) = permit else { return false };
                permit.send(piece);
                return true;
            }
            () = tokio::time::sleep(RECHECK_EVERY) => {
                if export.check_access().await.is_err() {
                    return false;
                }
            }
            () = tokio::time::sleep_until(idle_until) => {
                export.exceeded(ExportLimit::Idle);
                return false;
            }
            () = tokio::time::sleep_until(deadline) => {
                export.exceeded(ExportLimit::Duration);
                return false;
            }
        }
    }
}
