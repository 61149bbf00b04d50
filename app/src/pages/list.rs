use leptos::prelude::*;
use regen_domain::{JobStatus, JobSummary, Timestamp, ALL_STATUSES};

use super::{ErrorPanel, PageError};
use crate::components::badge::StatusBadge;
use crate::components::time::Time;

/// Everything the list page shows, loaded on the server.
#[derive(Debug, Clone)]
struct ListData {
    jobs: Vec<JobSummary>,
    statuses: Vec<String>,
    target_type: String,
    target_id: String,
    newer_href: Option<String>,
    older_href: Option<String>,
    filtered: bool,
    now: Timestamp,
}

const LIST_PATH: &str = "/admin/regeneration-jobs";

#[cfg(feature = "ssr")]
async fn load() -> Result<ListData, PageError> {
    let info = crate::ssr::request_info();
    let service = crate::ssr::service();
    let query = regen_service::ListQuery::from_query_string(&crate::ssr::query_string())
        .map_err(|e| PageError::from_service(e, &info.request_id))?;
    let page = service
        .list_jobs(info.caller.as_ref(), &query)
        .await
        .map_err(|e| PageError::from_service(e, &info.request_id))?;
    let href = |cursor: &Option<String>| {
        cursor
            .as_deref()
            .map(|c| format!("{LIST_PATH}?{}", query.to_query_string(Some(c))))
    };
    Ok(ListData {
        newer_href: href(&page.prev_cursor),
        older_href: href(&page.next_cursor),
        filtered: !query.statuses.is_empty()
            || query.target_type.is_some()
            || query.target_id.is_some(),
        jobs: page.jobs,
        statuses: query.statuses.clone(),
        target_type: query.target_type.clone().unwrap_or_default(),
        target_id: query.target_id.clone().unwrap_or_default(),
        now: regen_service::now(),
    })
}

#[cfg(not(feature = "ssr"))]
async fn load() -> Result<ListData, PageError> {
    Err(PageError::Internal)
}

/// `/admin/regeneration-jobs`: a filterable, keyset-paginated table. Plain
/// links and a GET form only: nothing on this page changes anything, and it
/// needs no WASM.
#[component]
pub fn JobListPage() -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {Suspend::new(async move {
                match load().await {
                    Ok(data) => view! { <JobList data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobList(data: ListData) -> impl IntoView {
    let ListData {
        jobs,
        statuses,
        target_type,
        target_id,
        newer_href,
        older_href,
        filtered,
        now,
    } = data;
    let status_boxes = ALL_STATUSES
        .into_iter()
        .map(|status| {
            let checked = statuses.iter().any(|s| s == status.as_str());
            view! {
                <label class="check">
                    <input type="checkbox" name="status" value=status.as_str() checked=checked/>
                    <StatusBadge status/>
                </label>
            }
        })
        .collect_view();
    let empty = jobs.is_empty();
    let rows = jobs
        .into_iter()
        .map(|job| view! { <JobRow job now/> })
        .collect_view();
    let body = if empty {
        let message = if filtered {
            "No jobs match these filters."
        } else {
            "No regeneration jobs yet. Upstream systems create them; run `regen-admin demo` for sample data."
        };
        view! { <p class="empty-state">{message}</p> }.into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="jobs">
                    <caption class="visually-hidden">"Regeneration jobs, newest first"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Id"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Target type"</th>
                            <th scope="col">"Target id"</th>
                            <th scope="col">"Created (UTC)"</th>
                            <th scope="col">"Created by"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let pager = (newer_href.is_some() || older_href.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {match newer_href {
                    Some(href) => view! { <a rel="prev" href=href>"← Newer"</a> }.into_any(),
                    None => view! { <span class="disabled">"← Newer"</span> }.into_any(),
                }}
                {match older_href {
                    Some(href) => view! { <a rel="next" href=href>"Older →"</a> }.into_any(),
                    None => view! { <span class="disabled">"Older →"</span> }.into_any(),
                }}
            </nav>
        }
    });
    view! {
        <h1>"Regeneration jobs"</h1>
        <form class="filters" method="get" action=LIST_PATH role="search" aria-label="Filter jobs">
            <fieldset>
                <legend>"Status"</legend>
                {status_boxes}
            </fieldset>
            <label>"Target type" <input type="text" name="targetType" value=target_type maxlength="200"/></label>
            <label>"Target id" <input type="text" name="targetId" value=target_id maxlength="200"/></label>
            <button type="submit">"Apply filters"</button>
            <a href=LIST_PATH class="clear">"Clear"</a>
        </form>
        {body}
        {pager}
    }
}

#[component]
fn JobRow(job: JobSummary, now: Timestamp) -> impl IntoView {
    let id = job.id.to_string();
    let title = id.clone();
    let href = format!("{LIST_PATH}/{id}");
    // UUIDv7 ids share their leading (time) digits; the tail tells rows apart.
    // The head stays in the DOM, clipped, so selecting the id copies all of it.
    let (head, tail) = id.split_at(id.len() - 8);
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let status: JobStatus = job.status;
    view! {
        <tr>
            <td>
                <a href=href class="job-id" title=title>
                    <code><span class="id-head">{head}</span>"…"<span class="id-tail">{tail}</span></code>
                </a>
            </td>
            <td><StatusBadge status/></td>
            <td>{job.target_type}</td>
            <td class="target-id">{job.target_id}</td>
            <td><Time at=job.created_at now/></td>
            <td>{job.created_by}</td>
        </tr>
    }
}
