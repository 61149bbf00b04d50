//! What the list page shows: the filters, counts, chart, table and pager,
//! drawn from the data `load` gathered.

use leptos::prelude::*;
use regen_domain::{grouped, waited, JobStats, JobStatus, JobSummary, Timestamp, ALL_STATUSES};

use crate::components::activity_chart::{ActivityChart, RenderedChart};
use crate::components::badge::StatusBadge;
use crate::components::bulk_trigger::{BulkDialog, BulkPart, BulkTriggerTools};
use crate::components::listing::{ExportLinks, FilterField, Pager, Presets};
use crate::components::shortcuts::{FILTERS_FORM_ID, GOTO_FIELD_ID};
use crate::components::target::TargetLink;
use crate::components::time::{Time, TimeZoneLabel};
use crate::pages::bulk::{BulkForm, BULK_CONFIRM_PATH, BULK_TRIGGER_PATH};

/// Everything the list page shows, loaded on the server.
#[derive(Debug, Clone)]
pub(super) struct ListData {
    pub(super) jobs: Vec<JobSummary>,
    /// Per job: its target's link (`REGEN_TARGET_URL_TEMPLATES`), if any.
    pub(super) target_hrefs: Vec<Option<String>>,
    pub(super) form: FilterValues,
    pub(super) newer_href: Option<String>,
    pub(super) older_href: Option<String>,
    pub(super) filtered: bool,
    pub(super) now: Timestamp,
    /// Exact counts, when the active filters are ones they can answer
    /// (none, or a target type), with the link that lists each status.
    pub(super) counts: Option<StatusCountLinks>,
    /// Active filters, each with the link that removes it.
    pub(super) chips: Vec<(String, String)>,
    /// Time windows one click away: label and link.
    pub(super) presets: Vec<(&'static str, String)>,
    /// A bad filter value: which field, and what is wrong with it.
    pub(super) field_error: Option<(&'static str, String)>,
    /// What "Go to job" found (or did not).
    pub(super) goto_message: Option<String>,
    /// The filters needed a scan that examined this many jobs without
    /// filling the page.
    pub(super) searched: Option<u32>,
    /// The filters as a query string (no cursor or page size), for exports.
    pub(super) filters: String,
    /// Jobs over time for the active target type (absent on a bad filter).
    pub(super) chart: Option<RenderedChart>,
    /// The bulk trigger's controls, when the list shows PENDING jobs only.
    pub(super) bulk: Option<BulkControls>,
}

/// What the bulk trigger offers on a list of PENDING jobs: a checkbox per
/// row, and "Trigger all N matching" when the page shows the exact count N
/// and it is within the maximum.
#[derive(Debug, Clone)]
pub(super) struct BulkControls {
    pub(super) all: Option<BulkForm>,
}

/// The filter form's values, as the visitor sent them.
#[derive(Debug, Clone, Default)]
pub(super) struct FilterValues {
    pub(super) statuses: Vec<String>,
    pub(super) target_type: String,
    pub(super) target_id: String,
    pub(super) created_from: String,
    pub(super) created_to: String,
    pub(super) created_by: String,
}

#[derive(Debug, Clone)]
pub(super) struct StatusCountLinks {
    pub(super) stats: JobStats,
    /// Per status: the list filtered by it, keeping the other filters.
    pub(super) hrefs: Vec<(JobStatus, String)>,
    pub(super) oldest_href: Option<String>,
}

pub(super) const LIST_PATH: &str = "/admin/regeneration-jobs";
const EXPORT_PATH: &str = "/api/admin/regeneration-jobs/export";

#[component]
pub(super) fn JobList(data: ListData) -> impl IntoView {
    let ListData {
        jobs,
        target_hrefs,
        form,
        newer_href,
        older_href,
        filtered,
        now,
        counts,
        chips,
        presets,
        field_error,
        goto_message,
        searched,
        filters,
        chart,
        bulk,
    } = data;
    let chart = chart.map(|chart| view! { <ActivityChart chart/> });
    let exports = view! { <ExportLinks what="jobs" endpoint=EXPORT_PATH filters/> };
    let searched_empty = searched.is_some() && jobs.is_empty();
    let searched = searched.map(|n| {
        let n = grouped(u64::from(n));
        let text = if searched_empty {
            format!(
                "None of the {n} jobs searched for this page match these filters. \
                 Use the page links to keep looking."
            )
        } else {
            format!(
                "Searched {n} jobs without filling this page: these filters match few of them. \
                 Use the page links to keep looking."
            )
        };
        view! { <p class="notice" role="status">{text}</p> }
    });
    let counts = counts.map(|counts| view! { <StatusCounts counts now/> });
    let status_boxes = ALL_STATUSES
        .into_iter()
        .map(|status| {
            let checked = form.statuses.iter().any(|s| s == status.as_str());
            view! {
                <label class="check">
                    <input type="checkbox" name="status" value=status.as_str() checked=checked/>
                    <StatusBadge status/>
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
    let chips = (!chips.is_empty()).then(|| {
        let items = chips
            .into_iter()
            .map(|(label, href)| {
                view! { <li class="chip">{label.clone()} " " <a href=href aria-label=format!("Remove {label}")>"×"</a></li> }
            })
            .collect_view();
        view! { <ul class="chips" aria-label="Active filters">{items}</ul> }
    });
    let goto_message =
        goto_message.map(|m| view! { <p class="notice warning" role="status">{m}</p> });
    let empty = jobs.is_empty();
    let selectable = bulk.is_some() && !empty;
    let rows = jobs
        .into_iter()
        .zip(target_hrefs.into_iter().chain(std::iter::repeat(None)))
        .map(|(job, target_href)| view! { <JobRow job target_href now selectable/> })
        .collect_view();
    let select_header = selectable.then(|| {
        view! { <th scope="col"><span class="visually-hidden">"Select"</span></th> }
    });
    let body = if empty && searched_empty {
        ().into_any()
    } else if empty {
        let message = if filtered {
            "No jobs match these filters."
        } else {
            "No regeneration jobs yet. Upstream systems create them; run `regen-admin demo` for sample data."
        };
        view! { <p class="empty-state">{message}</p> }.into_any()
    } else {
        let table = view! {
            <div class="table-wrap">
                <table class="jobs" data-row-nav="">
                    <caption class="visually-hidden">"Regeneration jobs, newest first"</caption>
                    <thead>
                        <tr>
                            {select_header}
                            <th scope="col">"Id"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Target type"</th>
                            <th scope="col">"Target id"</th>
                            <th scope="col">"Created " <TimeZoneLabel/></th>
                            <th scope="col">"Created by"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        };
        match bulk {
            Some(bulk) => view! { <BulkControlsView bulk table/> }.into_any(),
            None => table.into_any(),
        }
    };
    view! {
        <h1>"Regeneration jobs"</h1>
        {counts}
        {chart}
        <form class="goto" method="get" action=LIST_PATH role="search" aria-label="Go to a job">
            <label>"Go to job " <input type="text" id=GOTO_FIELD_ID name="goto" placeholder="job id" maxlength="64"/></label>
            <button type="submit">"Go"</button>
        </form>
        {goto_message}
        <form class="filters" id=FILTERS_FORM_ID method="get" action=LIST_PATH role="search" aria-label="Filter jobs">
            <fieldset>
                <legend>"Status"</legend>
                {status_boxes}
            </fieldset>
            {field("targetType", "Target type", form.target_type, "")}
            {field("targetId", "Target id", form.target_id, "")}
            {field("createdBy", "Created by", form.created_by, "")}
            {field("createdFrom", "Created from", form.created_from, "2026-11-24T00:00:00Z")}
            {field("createdTo", "Created before", form.created_to, "2026-11-25T00:00:00Z")}
            <button type="submit">"Apply filters"</button>
            <a href=LIST_PATH class="clear">"Clear"</a>
            <Presets label="Created in:" presets/>
        </form>
        {chips}
        {exports}
        {searched}
        {body}
        <Pager newer_href older_href/>
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

/// The list's table inside the bulk trigger's form (one checkbox per row,
/// "Trigger selected"), "Trigger all N matching", and the dialog that
/// JavaScript uses instead of the confirmation page.
#[component]
fn BulkControlsView(bulk: BulkControls, table: impl IntoView + 'static) -> impl IntoView {
    let choose = BulkPart::Choose.as_str();
    let all = bulk.all.map(|all| {
        let label = format!("Trigger all {} matching", grouped(all.count()));
        let description = all.in_words();
        let fields = all.hidden_fields();
        view! {
            <form method="post" action=BULK_CONFIRM_PATH class="bulk-all"
                data-bulk=choose data-final=BULK_TRIGGER_PATH data-description=description>
                {fields}
                <button type="submit">{label}</button>
            </form>
        }
    });
    view! {
        <BulkTriggerTools>
            {all}
            <form method="post" action=BULK_CONFIRM_PATH class="bulk-selected"
                data-bulk=choose data-final=BULK_TRIGGER_PATH>
                <div class="bulk-actions">
                    <button type="submit" class="primary">
                        "Trigger selected " <span class="bulk-count" data-bulk=BulkPart::Count.as_str()>"(0)"</span>
                    </button>
                </div>
                {table}
            </form>
            <BulkDialog/>
        </BulkTriggerTools>
    }
}

#[component]
fn JobRow(
    job: JobSummary,
    target_href: Option<String>,
    now: Timestamp,
    selectable: bool,
) -> impl IntoView {
    let id = job.id.to_string();
    let title = id.clone();
    let href = format!("{LIST_PATH}/{id}");
    // UUIDv7 ids share their leading (time) digits; the tail tells rows apart.
    // The head stays in the DOM, clipped, so selecting the id copies all of it.
    let (head, tail) = id.split_at(id.len() - 8);
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let status: JobStatus = job.status;
    let select = selectable.then(|| {
        let label = format!("Select job {id}");
        view! { <td><input type="checkbox" name="id" value=id.clone() aria-label=label/></td> }
    });
    view! {
        <tr>
            {select}
            <td>
                <a href=href class="job-id" title=title>
                    <code><span class="id-head">{head}</span>"…"<span class="id-tail">{tail}</span></code>
                </a>
            </td>
            <td><StatusBadge status/></td>
            <td>{job.target_type}</td>
            <td class="target-id">
                {match target_href {
                    Some(href) => view! { <TargetLink href>{job.target_id}</TargetLink> }.into_any(),
                    None => job.target_id.into_any(),
                }}
            </td>
            <td><Time at=job.created_at now/></td>
            <td>{job.created_by}</td>
        </tr>
    }
}
