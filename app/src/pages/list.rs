use leptos::prelude::*;
use regen_domain::{waited, JobStats, JobStatus, JobSummary, Timestamp, ALL_STATUSES};

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
    /// Exact counts, when the active filters are ones they can answer
    /// (none, or a target type), with the link that lists each status.
    counts: Option<StatusCountLinks>,
}

#[derive(Debug, Clone)]
struct StatusCountLinks {
    stats: JobStats,
    /// Per status: the list filtered by it, keeping the other filters.
    hrefs: Vec<(JobStatus, String)>,
    oldest_href: Option<String>,
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    // The kept counts answer "all jobs" and "one target type" exactly; with
    // a target id filter they would not describe the list, so none are shown.
    let counts = if query.target_id.is_none() {
        let stats = service
            .job_stats(info.caller.as_ref(), query.target_type.as_deref())
            .await
            .map_err(|e| PageError::from_service(e, &info.request_id))?;
        let hrefs = ALL_STATUSES
            .into_iter()
            .map(|status| {
                let mut by_status = query.clone();
                by_status.statuses = vec![status.as_str().to_owned()];
                (
                    status,
                    format!("{LIST_PATH}?{}", by_status.to_query_string(None)),
                )
            })
            .collect();
        let oldest_href = stats
            .oldest_pending
            .as_ref()
            .map(|oldest| format!("{LIST_PATH}/{}", oldest.id));
        Some(StatusCountLinks {
            stats,
            hrefs,
            oldest_href,
        })
    } else {
        None
    };
    Ok(ListData {
        counts,
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
        counts,
    } = data;
    let counts = counts.map(|counts| view! { <StatusCounts counts now/> });
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
        {counts}
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

/// The exact number of jobs in each status, each a link to that status's
/// list, and how long the oldest PENDING job has waited.
#[component]
fn StatusCounts(counts: StatusCountLinks, now: Timestamp) -> impl IntoView {
    let StatusCountLinks {
        stats,
        hrefs,
        oldest_href,
    } = counts;
    let links = hrefs
        .into_iter()
        .map(|(status, href)| {
            let count = grouped(stats.by_status.get(status));
            view! {
                <li><a href=href class="status-count"><StatusBadge status/> " " <span class="count">{count}</span></a></li>
            }
        })
        .collect_view();
    let oldest = stats.oldest_pending.zip(oldest_href).map(|(oldest, href)| {
        let wait = waited((now.millis() - oldest.created_at.millis()) / 1000);
        view! {
            <p class="oldest-pending">"Oldest pending: " <a href=href title=oldest.id.to_string()>{wait}</a></p>
        }
    });
    view! {
        <section class="counts" aria-label="Jobs by status">
            <ul class="status-counts">
                {links}
                <li class="total">"Total " <span class="count">{grouped(stats.total)}</span></li>
            </ul>
            {oldest}
        </section>
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
