//! `/admin/audit`: the audit trail across every job, newest first. A GET
//! form and links only; the page ships no WASM.

use leptos::prelude::*;
use regen_domain::{AuditEventType, AuditRecord, Timestamp};

use super::{ErrorPanel, PageError};
use crate::components::listing::{ExportLinks, FilterField, Pager, Presets};
use crate::components::shortcuts::FILTERS_FORM_ID;
use crate::components::time::{Time, TimeZoneLabel};

pub const AUDIT_PAGE: &str = "/admin/audit";
const AUDIT_EXPORT: &str = "/api/admin/audit-events/export";

/// The filter form's values, as the visitor sent them.
#[derive(Debug, Clone, Default)]
struct AuditForm {
    event_types: Vec<String>,
    actor: String,
    actor_name: String,
    job_id: String,
    occurred_from: String,
    occurred_to: String,
}

#[derive(Debug, Clone)]
struct AuditData {
    events: Vec<AuditRecord>,
    form: AuditForm,
    newer_href: Option<String>,
    older_href: Option<String>,
    presets: Vec<(&'static str, String)>,
    /// The filters as a query string, for the export links.
    filters: String,
    field_error: Option<(&'static str, String)>,
    now: Timestamp,
}

/// The audit page with these filters (and no cursor).
pub fn audit_href(pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() {
        AUDIT_PAGE.to_owned()
    } else {
        format!("{AUDIT_PAGE}?{query}")
    }
}

#[cfg(feature = "ssr")]
async fn load() -> Result<AuditData, PageError> {
    use regen_service::{AuditQuery, ServiceError};

    let info = crate::ssr::request_info();
    let service = crate::ssr::service();
    let query = AuditQuery::from_query_string(&crate::ssr::query_string())
        .map_err(|e| PageError::from_service(e, &info.request_id))?;
    let now = regen_service::now();
    let form = AuditForm {
        event_types: query.event_types.clone(),
        actor: query.actor.clone().unwrap_or_default(),
        actor_name: query.actor_name.clone().unwrap_or_default(),
        job_id: query.job_id.clone().unwrap_or_default(),
        occurred_from: query.occurred_from.clone().unwrap_or_default(),
        occurred_to: query.occurred_to.clone().unwrap_or_default(),
    };
    let presets = [
        ("Last hour", 3_600),
        ("Last 24 hours", 86_400),
        ("Last 7 days", 7 * 86_400),
    ]
    .into_iter()
    .map(|(label, seconds)| {
        let mut window = query.clone();
        let from = Timestamp::from_millis(now.millis() - seconds * 1000).unwrap_or(now);
        window.occurred_from = Some(from.to_string());
        window.occurred_to = None;
        window.cursor = None;
        (label, audit_href(&window.filters()))
    })
    .collect();
    let filters = audit_href(&query.filters());
    let filters = filters
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    let (events, newer_href, older_href, field_error) = match service
        .list_audit_events(info.caller.as_ref(), &query)
        .await
    {
        Ok(page) => {
            let href = |cursor: &Option<String>| {
                cursor
                    .as_deref()
                    .map(|c| format!("{AUDIT_PAGE}?{}", query.to_query_string(Some(c))))
            };
            (
                page.events,
                href(&page.prev_cursor),
                href(&page.next_cursor),
                None,
            )
        }
        Err(ServiceError::InvalidParameter { parameter, message }) => {
            crate::ssr::set_status(http::StatusCode::BAD_REQUEST);
            (Vec::new(), None, None, Some((parameter, message)))
        }
        Err(error) => return Err(PageError::from_service(error, &info.request_id)),
    };
    Ok(AuditData {
        events,
        form,
        newer_href,
        older_href,
        presets,
        filters,
        field_error,
        now,
    })
}

#[cfg(not(feature = "ssr"))]
async fn load() -> Result<AuditData, PageError> {
    Err(PageError::Internal)
}

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {Suspend::new(async move {
                match load().await {
                    Ok(data) => view! { <AuditLog data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An event type as a badge in the status colours: created waits like
/// PENDING, triggered runs, completed and failed are what they say.
#[component]
pub fn EventBadge(event_type: AuditEventType) -> impl IntoView {
    let class = match event_type {
        AuditEventType::Created => "badge badge-pending",
        AuditEventType::Triggered => "badge badge-running",
        AuditEventType::Completed => "badge badge-completed",
        AuditEventType::Failed => "badge badge-failed",
    };
    view! { <span class=class>{event_type.as_str()}</span> }
}

#[component]
fn AuditLog(data: AuditData) -> impl IntoView {
    let AuditData {
        events,
        form,
        newer_href,
        older_href,
        presets,
        filters,
        field_error,
        now,
    } = data;
    let type_boxes = AuditEventType::ALL
        .into_iter()
        .map(|event_type| {
            let checked = form.event_types.iter().any(|t| t == event_type.as_str());
            view! {
                <label class="check">
                    <input type="checkbox" name="eventType" value=event_type.as_str() checked=checked/>
                    <EventBadge event_type/>
                </label>
            }
        })
        .collect_view();
    let field =
        |name: &'static str, label: &'static str, value: String, placeholder: &'static str| {
            let error = field_error
                .as_ref()
                .filter(|(parameter, _)| *parameter == name)
                .map(|(_, message)| message.clone());
            view! { <FilterField name label value placeholder error/> }
        };
    let empty = events.is_empty();
    let rows = events
        .into_iter()
        .map(|event| view! { <AuditRow event now/> })
        .collect_view();
    let body = if empty {
        view! { <p class="empty-state">"No audit events match these filters."</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="jobs audit-log" data-row-nav="">
                    <caption class="visually-hidden">"Audit events, newest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Time " <TimeZoneLabel/></th>
                            <th scope="col">"Event"</th>
                            <th scope="col">"Job"</th>
                            <th scope="col">"Actor"</th>
                            <th scope="col">"Request"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <h1>"Audit log"</h1>
        <form class="filters" id=FILTERS_FORM_ID method="get" action=AUDIT_PAGE role="search" aria-label="Filter audit events">
            <fieldset>
                <legend>"Event"</legend>
                {type_boxes}
            </fieldset>
            {field("actorName", "Actor name", form.actor_name, "")}
            {field("actor", "Actor id", form.actor, "")}
            {field("jobId", "Job id", form.job_id, "")}
            {field("occurredFrom", "From", form.occurred_from, "2026-11-24T00:00:00Z")}
            {field("occurredTo", "Before", form.occurred_to, "2026-11-25T00:00:00Z")}
            <button type="submit">"Apply filters"</button>
            <a href=AUDIT_PAGE class="clear">"Clear"</a>
            <Presets label="Occurred in:" presets/>
        </form>
        <ExportLinks what="events" endpoint=AUDIT_EXPORT filters/>
        {body}
        <Pager newer_href older_href/>
    }
}

#[component]
fn AuditRow(event: AuditRecord, now: Timestamp) -> impl IntoView {
    let job = event.job_id.to_string();
    let job_href = format!("/admin/regeneration-jobs/{job}");
    let (head, tail) = job.split_at(job.len() - 8);
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let actor_href = audit_href(&[("actor", &event.actor)]);
    view! {
        <tr>
            <td><Time at=event.occurred_at now/></td>
            <td><EventBadge event_type=event.event_type/></td>
            <td>
                <a href=job_href class="job-id" title=job.clone()>
                    <code><span class="id-head">{head}</span>"…"<span class="id-tail">{tail}</span></code>
                </a>
            </td>
            <td><a href=actor_href class="actor" title=event.actor.clone()>{event.actor_name}</a></td>
            <td class="request-id">{event.request_id.map(|r| view! { <code>{r}</code> })}</td>
        </tr>
    }
}
