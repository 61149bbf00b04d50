//! What the list page loads on the server: the page of jobs its query asks
//! for, the counts and chart that describe it, and every link it offers.

#[cfg(feature = "ssr")]
use regen_domain::{Timestamp, ALL_STATUSES};

use super::view::ListData;
#[cfg(feature = "ssr")]
use super::view::{BulkControls, FilterValues, StatusCountLinks, LIST_PATH};
#[cfg(feature = "ssr")]
use crate::components::activity_chart::RenderedChart;
#[cfg(feature = "ssr")]
use crate::pages::bulk::BulkForm;
use crate::pages::PageError;

#[cfg(feature = "ssr")]
pub(super) async fn load() -> Result<ListData, PageError> {
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
    // The kept counts answer "all jobs" and "one target type" exactly; with
    // any other filter they would not describe the list, so none are shown.
    // When they are, the page and its counts come from one statement.
    let countable = query.target_id.is_none()
        && query.created_from.is_none()
        && query.created_to.is_none()
        && query.created_by.is_none();
    let read = if countable {
        service
            .list_jobs_with_stats(info.caller.as_ref(), &query)
            .await
            .map(|(page, stats)| (page, Some(stats)))
    } else {
        service
            .list_jobs(info.caller.as_ref(), &query)
            .await
            .map(|page| (page, None))
    };
    let (page, stats) = match read {
        Ok(read) => read,
        Err(ServiceError::InvalidParameter { parameter, message }) => {
            crate::ssr::set_status(http::StatusCode::BAD_REQUEST);
            return Ok(ListData {
                jobs: Vec::new(),
                target_hrefs: Vec::new(),
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
                bulk: None,
            });
        }
        Err(error) => return Err(PageError::from_service(error, &info.request_id)),
    };
    let href = |cursor: &Option<String>| {
        cursor
            .as_deref()
            .map(|c| format!("{LIST_PATH}?{}", query.to_query_string(Some(c))))
    };
    let counts = stats.map(|stats| {
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
        StatusCountLinks {
            stats,
            hrefs,
            oldest_href,
        }
    });
    let bulk = bulk_controls(&query, counts.as_ref(), service.bulk_trigger_max());
    let chart = activity_chart(&service, &info, &query, chart_range, now, &link).await?;
    let links = crate::ssr::ui_config().target_links;
    let target_hrefs = page
        .jobs
        .iter()
        .map(|job| links.href(&job.target_type, &job.target_id))
        .collect();
    Ok(ListData {
        target_hrefs,
        chart,
        bulk,
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

/// The bulk trigger's controls: on a list of PENDING jobs only, with
/// "Trigger all N matching" when the page shows N exactly (the kept counts:
/// no filter, or a target type) and N is within the maximum.
#[cfg(feature = "ssr")]
fn bulk_controls(
    query: &regen_service::ListQuery,
    counts: Option<&StatusCountLinks>,
    max: usize,
) -> Option<BulkControls> {
    let pending = regen_domain::JobStatus::Pending;
    if query.statuses != [pending.as_str()] {
        return None;
    }
    let all = counts
        .map(|counts| counts.stats.by_status.get(pending))
        .filter(|&n| n > 0 && n <= max as u64)
        .map(|n| BulkForm {
            ids: Vec::new(),
            filter: query
                .target_type
                .iter()
                .map(|t| ("targetType", t.clone()))
                .collect(),
            expected_count: Some(n),
        });
    Some(BulkControls { all })
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
    use crate::components::activity_chart::{render, ActivityChartData};
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
    let html = service
        .page_chart(info.caller.as_ref(), &activity, |buckets| {
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
            render(&ActivityChartData {
                buckets,
                hrefs,
                hourly: size == BucketSize::Hour,
                range_label: range.label(),
            })
        })
        .await
        .map_err(|e| PageError::from_service(e, &info.request_id))?;
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
pub(super) async fn load() -> Result<ListData, PageError> {
    Err(PageError::Internal)
}
