//! The audit log across all jobs.

use app::ssr::RequestInfo;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use regen_domain::{AuditEventType, AuditRecord};
use regen_service::AuditQuery;
use serde::Deserialize;
use serde_html_form::de::empty_as_none;
use utoipa::IntoParams;

use super::query::{instant_or_empty, page_links, uuid_or_empty, PageParameters, QueryParts};
use super::responses::{ServiceErrors, PROBLEM};
use crate::http::problem::Problem;
use crate::http::state::AppState;

pub const AUDIT_PATH: &str = "/api/admin/audit-events";

/// The audit filters, shared by the listing and the export. An empty value
/// is no filter, except `eventType`, which is never sent empty.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilters {
    /// Repeat for several types; none means every type.
    #[serde(default)]
    #[param(value_type = Option<Vec<AuditEventType>>, style = Form, explode, inline)]
    event_type: Vec<String>,
    /// The stored actor: a user id, or a producer's name.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    actor: Option<String>,
    /// A user's name (or a producer's, which is its own name).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    actor_name: Option<String>,
    /// One job's events.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(schema_with = uuid_or_empty)]
    job_id: Option<String>,
    /// Events at or after this instant (RFC 3339).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(schema_with = instant_or_empty)]
    occurred_from: Option<String>,
    /// Events before this instant (RFC 3339); the window is half-open.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(schema_with = instant_or_empty)]
    occurred_to: Option<String>,
}

impl AuditFilters {
    /// The service's audit request: these filters on this page (an export
    /// has none: it takes every row).
    pub fn into_query(self, page: Option<PageParameters>) -> AuditQuery {
        let (limit, cursor) = page.map_or((None, None), |p| (p.limit, p.cursor));
        AuditQuery {
            limit,
            cursor,
            event_types: self.event_type,
            actor: self.actor,
            actor_name: self.actor_name,
            job_id: self.job_id,
            occurred_from: self.occurred_from,
            occurred_to: self.occurred_to,
        }
    }
}

/// Audit events across all jobs, newest first (occurredAt DESC, id DESC).
#[utoipa::path(
    get,
    path = "/admin/audit-events",
    operation_id = "listAuditEvents",
    params(PageParameters, AuditFilters),
    responses(
        (status = 200, description = "A page of events; `Link: <…>; rel=\"next\"` (and `rel=\"prev\"`) announce its neighbours",
            body = [AuditRecord], headers(("Link" = String, description = "RFC 8288 links to the next and previous pages"))),
        (status = 400, description = "Invalid, unknown or repeated query parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    QueryParts(page, filters): QueryParts<PageParameters, AuditFilters>,
) -> Result<Response, Problem> {
    let query = filters.into_query(Some(page));
    let page = state
        .service
        .list_audit_events(info.caller.as_ref(), &query)
        .await?;
    let links = page_links(AUDIT_PATH, &page.next_cursor, &page.prev_cursor, |c| {
        query.to_query_string(Some(c))
    });
    let mut response = Json(page.events).into_response();
    if let Some(links) = links {
        response.headers_mut().insert(header::LINK, links);
    }
    Ok(response)
}
