use leptos::prelude::*;
use regen_domain::{grouped, waited, JobStats, JobStatus, JobSummary, Timestamp, ALL_STATUSES};

use super::{ErrorPanel, PageError};
use crate::components::activity_chart::{ActivityChart, RenderedChart};
use crate::components::badge::StatusBadge;
use crate::components::listing::{ExportLinks, FilterField, Pager, Presets};
use crate::components::time::Time;

/// Everything the list page shows, loaded on the server.
#[derive(Debug, Clone)]
struct ListData {
    jobs: Vec<JobSummary>,
    form: FilterValues,
    newer_href: Option<String>,
    older_href: Option<String>,
    filtered: bool,
    now: Timestamp,
    /// Exact counts, when the active filters are ones they can answer
    /// (none, or a target type), with the link that lists each status.
    counts: Option<StatusCountLinks>,
    /// Active filters, each with the link that removes it.
    chips: Vec<(String, String)>,
    /// Time windows one click away: label and link.
    presets: Vec<(&'static str, String)>,
    /// A bad filter value: which field, and what is wrong with it.
    field_error: Option<(&'static str, String)>,
    /// What "Go to job" found (or did not).
    goto_message: Option<String>,
    /// The filters needed a scan that examined this many jobs without
    /// filling the page.
    searched: Option<u32>,
    /// The filters as a query string (no cursor or page size), for exports.
    filters: String,
    /// Jobs over time for the active target type (absent on a bad filter).
    chart: Option<RenderedChart>,
}

/// The filter form's values, as the visitor sent them.
#[derive(Debug, Clone, Default)]
struct FilterValues {
    statuses: Vec<String>,
    target_type: String,
    target_id: String,
    created_from: String,
    created_to: String,
    created_by: String,
}

#[derive(Debug, Clone)]
struct StatusCountLinks {
    stats: JobStats,
    /// Per status: the list filtered by it, keeping the other filters.
    hrefs: Vec<(JobStatus, String)>,
    oldest_href: Option<String>,
}

const LIST_PATH: &str = "/admin/regeneration-jobs";
const EXPORT_PATH: &str = "/api/admin/regeneration-jobs/export";

#[cfg(feature = "ssr")]
async fn load() -> Result<ListData, PageError> {
    use regen_service::{ListQuery, ServiceError};

    let info = crate::ssr::request_info();
    let service = crate::ssr::service();
    let raw = crate::ssr::query_string();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let goto = pairs
        .iter()
        .find(|(k, _)| k == "goto")
        .map(|(_, v)| v.trim().to_owned());
    let chart_range = ChartRange::parse(
        pairs
            .iter()
            .find(|(k, _)| k == "chart")
            .map(|(_, v)| v.as_str()),
    );
    let query = ListQuery::from_pairs(
        pairs
            .iter()
            .filter(|(k, _)| k != "goto" && k != "chart")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|e| PageError::from_service(e, &info.request_id))?;
    let mut goto_message = None;
    if let Some(id) = goto.filter(|id| !id.is_empty()) {
        match service.get_job(info.caller.as_ref(), &id).await {
            Ok(job) => {
                crate::ssr::see_other(&format!("{LIST_PATH}/{}", job.id));
            }
            Err(ServiceError::NotFound) => {
                goto_message = Some(format!("No job with id {id}."));
            }
            Err(error) => return Err(PageError::from_service(error, &info.request_id)),
        }
    }
    let link = |query: &ListQuery| {
        let text = query.to_query_string(None);
        if text.is_empty() {
            LIST_PATH.to_owned()
        } else {
            format!("{LIST_PATH}?{text}")
        }
    };
    let now = regen_service::now();
    let form = FilterValues {
        statuses: query.statuses.clone(),
        target_type: query.target_type.clone().unwrap_or_default(),
        target_id: query.target_id.clone().unwrap_or_default(),
        created_from: query.created_from.clone().unwrap_or_default(),
        created_to: query.created_to.clone().unwrap_or_default(),
        created_by: query.created_by.clone().unwrap_or_default(),
    };
    let chips = chips(&query, link);
    let presets = [
        ("Last hour", 3_600),
        ("Last 24 hours", 86_400),
        ("Last 7 days", 7 * 86_400),
    ]
    .into_iter()
    .map(|(label, seconds)| {
        let mut window = query.clone();
        let from = Timestamp::from_millis(now.millis() - seconds * 1000).unwrap_or(now);
        window.created_from = Some(from.to_string());
        window.created_to = None;
        window.cursor = None;
        (label, link(&window))
    })
    .collect();
    let page = match service.list_jobs(info.caller.as_ref(), &query).await {
        Ok(page) => page,
        Err(ServiceError::InvalidParameter { parameter, message }) => {
            crate::ssr::set_status(http::StatusCode::BAD_REQUEST);
            return Ok(ListData {
                jobs: Vec::new(),
                form,
                newer_href: None,
                older_href: None,
                filtered: true,
                now,
                counts: None,
                chips,
                presets,
                field_error: Some((parameter, message)),
                goto_message,
                searched: None,
                filters: String::new(),
                chart: None,
            });
        }
        Err(error) => return Err(PageError::from_service(error, &info.request_id)),
    };
    let href = |cursor: &Option<String>| {
        cursor
            .as_deref()
            .map(|c| format!("{LIST_PATH}?{}", query.to_query_string(Some(c))))
    };
    // The kept counts answer "all jobs" and "one target type" exactly; with
    // any other filter they would not describe the list, so none are shown.
    let countable = query.target_id.is_none()
        && query.created_from.is_none()
        && query.created_to.is_none()
        && query.created_by.is_none();
    let counts = if countable {
        let stats = service
            .job_stats(info.caller.as_ref(), query.target_type.as_deref())
            .await
            .map_err(|e| PageError::from_service(e, &info.request_id))?;
        let hrefs = ALL_STATUSES
            .into_iter()
            .map(|status| {
                let mut by_status = query.clone();
                by_status.statuses = vec![status.as_str().to_owned()];
                (status, link(&by_status))
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
    let chart = activity_chart(&service, &info, &query, chart_range, now, &link).await?;
    Ok(ListData {
        chart,
        counts,
        newer_href: href(&page.prev_cursor),
        older_href: href(&page.next_cursor),
        filtered: query.is_filtered(),
        jobs: page.jobs,
        form,
        now,
        chips,
        presets,
        field_error: None,
        goto_message,
        searched: page.searched_without_filling,
        filters: ListQuery {
            limit: None,
            cursor: None,
            ..query.clone()
        }
        .to_query_string(None),
    })
}

/// The chart's range, from `?chart=` (the default is 24 hours).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ChartRange {
    Day,
    Week,
    Month,
}

#[cfg(feature = "ssr")]
impl ChartRange {
    const ALL: [ChartRange; 3] = [ChartRange::Day, ChartRange::Week, ChartRange::Month];

    /// `None` for `chart=off`: the chart is hidden.
    fn parse(text: Option<&str>) -> Option<ChartRange> {
        if text == Some("off") {
            return None;
        }
        Some(
            ChartRange::ALL
                .into_iter()
                .find(|r| Some(r.param()) == text)
                .unwrap_or(ChartRange::Day),
        )
    }

    fn param(self) -> &'static str {
        match self {
            ChartRange::Day => "24h",
            ChartRange::Week => "7d",
            ChartRange::Month => "30d",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ChartRange::Day => "the last 24 hours",
            ChartRange::Week => "the last 7 days",
            ChartRange::Month => "the last 30 days",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ChartRange::Day => "24 hours",
            ChartRange::Week => "7 days",
            ChartRange::Month => "30 days",
        }
    }
}

/// The activity chart for the active target type: hourly buckets for a
/// day, daily ones for a week or a month. Each bar links to the list of
/// the jobs created in its window.
#[cfg(feature = "ssr")]
async fn activity_chart(
    service: &regen_service::AdminService,
    info: &crate::ssr::RequestInfo,
    query: &regen_service::ListQuery,
    range: Option<ChartRange>,
    now: Timestamp,
    link: &impl Fn(&regen_service::ListQuery) -> String,
) -> Result<Option<RenderedChart>, PageError> {
    use crate::components::activity_chart::ActivityChartData;
    use regen_service::{ActivityQuery, BucketSize};
    let Some(range) = range else {
        return Ok(None);
    };
    let (size, buckets) = match range {
        ChartRange::Day => (BucketSize::Hour, 24),
        ChartRange::Week => (BucketSize::Day, 7),
        ChartRange::Month => (BucketSize::Day, 30),
    };
    let activity = ActivityQuery::recent(size, buckets, now, query.target_type.clone());
    let buckets = service
        .job_activity_for_page(info.caller.as_ref(), &activity)
        .await
        .map_err(|e| PageError::from_service(e, &info.request_id))?;
    let html = rendered_chart::reuse_or_render(range, &query.target_type, buckets, |buckets| {
        let base = regen_service::ListQuery {
            target_type: query.target_type.clone(),
            ..Default::default()
        };
        let hrefs = buckets
            .iter()
            .map(|b| {
                let end =
                    Timestamp::from_millis(b.start.millis() + size.millis()).unwrap_or(b.start);
                link(&regen_service::ListQuery {
                    created_from: Some(b.start.to_string()),
                    created_to: Some(end.to_string()),
                    ..base.clone()
                })
            })
            .collect();
        ActivityChartData {
            buckets,
            hrefs,
            hourly: size == BucketSize::Hour,
            range_label: range.label(),
        }
    });
    let here = link(&regen_service::ListQuery {
        cursor: None,
        ..query.clone()
    });
    let ranges = ChartRange::ALL
        .into_iter()
        .map(|r| {
            let separator = if here.contains('?') { '&' } else { '?' };
            (
                r.name(),
                format!("{here}{separator}chart={}", r.param()),
                r == range,
            )
        })
        .collect();
    Ok(Some(RenderedChart { html, ranges }))
}

/// One chip per active filter, with the listing without it.
#[cfg(feature = "ssr")]
fn chips(
    query: &regen_service::ListQuery,
    link: impl Fn(&regen_service::ListQuery) -> String,
) -> Vec<(String, String)> {
    let mut chips = Vec::new();
    for status in &query.statuses {
        let mut without = query.clone();
        without.statuses.retain(|s| s != status);
        chips.push((format!("status: {status}"), link(&without)));
    }
    type Field = fn(&mut regen_service::ListQuery) -> &mut Option<String>;
    let fields: [(&str, Field); 5] = [
        ("target type", |q| &mut q.target_type),
        ("target id", |q| &mut q.target_id),
        ("created from", |q| &mut q.created_from),
        ("created before", |q| &mut q.created_to),
        ("created by", |q| &mut q.created_by),
    ];
    for (label, field) in fields {
        let mut without = query.clone();
        if let Some(value) = field(&mut without).take() {
            chips.push((format!("{label}: {value}"), link(&without)));
        }
    }
    chips
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
    let rows = jobs
        .into_iter()
        .map(|job| view! { <JobRow job now/> })
        .collect_view();
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
    view! {
        <h1>"Regeneration jobs"</h1>
        {counts}
        {chart}
        <form class="goto" method="get" action=LIST_PATH role="search" aria-label="Go to a job">
            <label>"Go to job " <input type="text" name="goto" placeholder="job id" maxlength="64"/></label>
            <button type="submit">"Go"</button>
        </form>
        {goto_message}
        <form class="filters" method="get" action=LIST_PATH role="search" aria-label="Filter jobs">
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

/// The chart's markup depends only on its range, the target type and the
/// figures, and the figures are reused for up to a second
/// (`PAGE_CHART_MAX_AGE`). So the markup is kept with the figures it was
/// drawn from and reused while they are equal: a busy list page draws its
/// chart about once a second, not on every request.
#[cfg(feature = "ssr")]
mod rendered_chart {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    use regen_domain::ActivityBucket;

    use super::ChartRange;
    use crate::components::activity_chart::{render, ActivityChartData};

    type Key = (ChartRange, Option<String>);
    /// The buckets a chart was drawn from, and its markup.
    type Drawn = (Vec<ActivityBucket>, Arc<str>);
    /// Target types come from the URL: the cache forgets everything when it
    /// holds this many charts.
    const MAX_CHARTS: usize = 64;

    fn charts() -> &'static Mutex<HashMap<Key, Drawn>> {
        static CHARTS: OnceLock<Mutex<HashMap<Key, Drawn>>> = OnceLock::new();
        CHARTS.get_or_init(Default::default)
    }

    pub fn reuse_or_render(
        range: ChartRange,
        target_type: &Option<String>,
        buckets: Vec<ActivityBucket>,
        data: impl FnOnce(Vec<ActivityBucket>) -> ActivityChartData,
    ) -> Arc<str> {
        let key = (range, target_type.clone());
        if let Some((drawn_from, html)) = charts().lock().expect("chart cache").get(&key) {
            if *drawn_from == buckets {
                return html.clone();
            }
        }
        let data = data(buckets);
        let html = render(&data);
        let mut charts = charts().lock().expect("chart cache");
        if charts.len() >= MAX_CHARTS {
            charts.clear();
        }
        charts.insert(key, (data.buckets, html.clone()));
        html
    }
}
