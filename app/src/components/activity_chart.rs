//! The activity chart: jobs created per bucket, stacked by their status now,
//! and triggers per bucket as a line. A `<figure>` rendered on the server,
//! no JavaScript: its caption says what the picture shows, the SVG's bars
//! are links (for the mouse) to the list filtered to their time window, and
//! the same buckets, numbers and links are in a table ("The numbers") for
//! the keyboard and screen readers. The SVG itself is hidden from assistive
//! technology and its links from the tab order, so nothing interactive is
//! inside an image, and nobody tabs through a picture.

use leptos::prelude::*;
use regen_domain::{grouped, ActivityBucket, JobStatus, ALL_STATUSES};

/// What the chart shows, with the links it needs.
#[derive(Debug, Clone)]
pub struct ActivityChartData {
    pub buckets: Vec<ActivityBucket>,
    /// Per bucket: the list filtered to its window.
    pub hrefs: Vec<String>,
    /// `true` for hourly buckets, `false` for daily ones.
    pub hourly: bool,
    /// "the last 24 hours", "the last 7 days"…
    pub range_label: &'static str,
}

/// The chart as the page shows it: the SVG and the numbers' table (see
/// [`render`]), and the range choices (label, link, whether it is the
/// current one), which depend on the page's other filters.
#[derive(Debug, Clone)]
pub struct RenderedChart {
    pub html: std::sync::Arc<str>,
    pub ranges: Vec<(&'static str, String, bool)>,
}

/// The figure's markup: its caption, SVG and table.
pub fn render(data: &ActivityChartData) -> std::sync::Arc<str> {
    chart_html(data, &summary(data)).into()
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 170.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// Bottom to top, as the stack is drawn.
const STACK: [JobStatus; 4] = [
    JobStatus::Completed,
    JobStatus::Failed,
    JobStatus::Running,
    JobStatus::Pending,
];

fn label(bucket: &ActivityBucket, hourly: bool) -> String {
    let at = bucket.start.as_datetime();
    if hourly {
        at.format("%Y-%m-%d %H:00 UTC").to_string()
    } else {
        at.format("%Y-%m-%d").to_string()
    }
}

fn axis_label(bucket: &ActivityBucket, hourly: bool) -> String {
    let at = bucket.start.as_datetime();
    if hourly {
        at.format("%H:00").to_string()
    } else {
        at.format("%m-%d").to_string()
    }
}

/// The picture in words: the figure's caption.
pub fn summary(data: &ActivityChartData) -> String {
    let created: u64 = data.buckets.iter().map(|b| b.created.total()).sum();
    let triggered: u64 = data.buckets.iter().map(|b| b.triggered).sum();
    let unit = if data.hourly { "hour" } else { "day" };
    let busiest = data
        .buckets
        .iter()
        .max_by_key(|b| (b.created.total(), std::cmp::Reverse(b.start)))
        .filter(|b| b.created.total() > 0);
    let mut text = format!(
        "Jobs created per {unit} over {}: {} in all",
        data.range_label,
        grouped(created)
    );
    if created > 0 {
        let by_status: Vec<String> = ALL_STATUSES
            .iter()
            .map(|s| {
                let n: u64 = data.buckets.iter().map(|b| b.created.get(*s)).sum();
                format!("{} {}", grouped(n), s.as_str())
            })
            .collect();
        text.push_str(&format!(" (now {})", by_status.join(", ")));
    }
    if let Some(b) = busiest {
        text.push_str(&format!(
            "; the most in {} ({})",
            label(b, data.hourly),
            grouped(b.created.total())
        ));
    }
    text.push_str(&format!("; {} triggers.", grouped(triggered)));
    text
}

/// The caption, SVG, legend and numbers' table as one escaped HTML string
/// (the inside of the `<figure>`): a page of
/// hundreds of small elements built as views costs several times more to
/// render than the same markup written once (the JSON viewer does the same).
pub fn chart_html(data: &ActivityChartData, summary_text: &str) -> String {
    use std::fmt::Write as _;
    let esc = |text: &str| {
        let mut out = String::new();
        regen_domain::json_html::escape_html(text, &mut out);
        out
    };
    let n = data.buckets.len().max(1) as f64;
    let top = data
        .buckets
        .iter()
        .map(|b| b.created.total().max(b.triggered))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = plot_w / n;
    let bar_w = (slot * 0.8).max(1.0);
    let y = |value: f64| TOP + plot_h - value / top * plot_h;
    let every = (data.buckets.len() / 8).max(1);
    let hourly = data.hourly;
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        r#"<figcaption class="chart-summary">{}</figcaption><svg class="activity-chart" aria-hidden="true" focusable="false" viewBox="0 0 {WIDTH} {HEIGHT}">"#,
        esc(summary_text)
    );
    let base_y = TOP + plot_h;
    let _ = write!(
        out,
        r#"<line class="axis-line" x1="{LEFT}" y1="{base_y:.1}" x2="{WIDTH}" y2="{base_y:.1}"></line><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text class="axis" x="{:.1}" y="{base_y:.1}" text-anchor="end">0</text>"#,
        LEFT - 6.0,
        TOP + 10.0,
        grouped(top as u64),
        LEFT - 6.0
    );
    for (i, (bucket, href)) in data.buckets.iter().zip(&data.hrefs).enumerate() {
        let left = LEFT + i as f64 * slot;
        let x = left + (slot - bar_w) / 2.0;
        let c = &bucket.created;
        let _ = write!(
            out,
            r#"<a href="{}" class="bucket" tabindex="-1" data-start="{}"><title>{}: {} created ({} PENDING, {} RUNNING, {} COMPLETED, {} FAILED), {} triggered</title><rect class="bucket-hit" x="{left:.1}" y="{TOP:.1}" width="{slot:.1}" height="{plot_h:.1}"></rect>"#,
            esc(href),
            bucket.start,
            label(bucket, hourly),
            grouped(c.total()),
            grouped(c.pending),
            grouped(c.running),
            grouped(c.completed),
            grouped(c.failed),
            grouped(bucket.triggered)
        );
        let mut stacked = 0.0;
        for status in STACK {
            let value = c.get(status) as f64;
            if value == 0.0 {
                continue;
            }
            let (y0, y1) = (y(stacked), y(stacked + value));
            stacked += value;
            let _ = write!(
                out,
                r#"<rect class="bar bar-{}" x="{x:.1}" y="{y1:.1}" width="{bar_w:.1}" height="{:.1}"></rect>"#,
                status.as_str().to_lowercase(),
                (y0 - y1).max(0.5)
            );
        }
        out.push_str("</a>");
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                left + slot / 2.0,
                HEIGHT - 6.0,
                axis_label(bucket, hourly)
            );
        }
    }
    let points: Vec<String> = data
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "{:.1},{:.1}",
                LEFT + i as f64 * slot + slot / 2.0,
                y(b.triggered as f64)
            )
        })
        .collect();
    let _ = write!(
        out,
        r#"<polyline class="triggered-line" points="{}"></polyline></svg>"#,
        points.join(" ")
    );
    let unit = if hourly { "hour" } else { "day" };
    let _ = write!(
        out,
        r#"<p class="legend"><span class="key key-pending">PENDING</span><span class="key key-running">RUNNING</span><span class="key key-completed">COMPLETED</span><span class="key key-failed">FAILED</span><span class="key key-triggered">triggered</span> · click a bar, or its row's link below, to list its jobs</p>"#
    );
    let _ = write!(
        out,
        r#"<details class="chart-numbers"><summary>The numbers</summary><div class="table-wrap"><table class="numbers"><caption class="visually-hidden">Jobs created per {unit} by their status now, and triggers; each {unit} links to its jobs</caption><thead><tr><th scope="col">Created in</th><th scope="col">PENDING</th><th scope="col">RUNNING</th><th scope="col">COMPLETED</th><th scope="col">FAILED</th><th scope="col">Triggered</th></tr></thead><tbody>"#
    );
    for (b, href) in data.buckets.iter().zip(&data.hrefs) {
        let c = &b.created;
        let _ = write!(
            out,
            r#"<tr><th scope="row"><a href="{}">{}</a></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(href),
            label(b, hourly),
            grouped(c.pending),
            grouped(c.running),
            grouped(c.completed),
            grouped(c.failed),
            grouped(b.triggered)
        );
    }
    out.push_str("</tbody></table></div></details>");
    out
}

#[component]
pub fn ActivityChart(chart: RenderedChart) -> impl IntoView {
    let html = chart.html.to_string();
    let ranges = chart
        .ranges
        .into_iter()
        .map(|(name, href, current)| {
            let aria = current.then_some("page");
            view! { <a href=href class="range" aria-current=aria>{name}</a> }
        })
        .collect_view();
    view! {
        <section class="activity" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Activity"</h2>
            <p class="ranges">"Range: " {ranges}</p>
            <figure class="chart" inner_html=html></figure>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regen_domain::{StatusCounts, Timestamp};

    #[test]
    fn the_chart_escapes_its_links_and_draws_every_bucket() {
        let start: Timestamp = "2026-12-01T10:00:00.000Z".parse().unwrap();
        let data = ActivityChartData {
            buckets: vec![ActivityBucket {
                start,
                created: StatusCounts {
                    pending: 2,
                    failed: 1,
                    ..StatusCounts::default()
                },
                triggered: 1,
            }],
            hrefs: vec!["/admin/regeneration-jobs?targetType=a\"b&createdFrom=x".into()],
            hourly: true,
            range_label: "the last 24 hours",
        };
        let html = chart_html(&data, &summary(&data));
        assert!(
            html.contains(
                r#"href="/admin/regeneration-jobs?targetType=a&quot;b&amp;createdFrom=x""#
            ),
            "{html}"
        );
        assert_eq!(html.matches("class=\"bucket\"").count(), 1);
        assert!(html.contains("class=\"bar bar-failed\""));
        assert!(html.contains(
            "<th scope=\"row\"><a href=\"/admin/regeneration-jobs?targetType=a&quot;b&amp;createdFrom=x\">2026-12-01 10:00 UTC</a></th><td>2</td>"
        ), "{html}");
        assert!(html.starts_with(
            "<figcaption class=\"chart-summary\">Jobs created per hour over the last 24 hours: 3 in all"
        ));
    }

    /// axe's `nested-interactive` and `aria-hidden-focus`: no image role
    /// around links, and the picture's links are out of the tab order
    /// (the table's links are the ones to reach).
    #[test]
    fn the_picture_holds_no_reachable_link_and_the_table_holds_one_per_bucket() {
        let start: Timestamp = "2026-12-01T00:00:00.000Z".parse().unwrap();
        let data = ActivityChartData {
            buckets: (0..3)
                .map(|i| ActivityBucket {
                    start: Timestamp::from_millis(start.millis() + i * 86_400_000).unwrap(),
                    created: StatusCounts::default(),
                    triggered: 0,
                })
                .collect(),
            hrefs: (0..3)
                .map(|i| format!("/admin/regeneration-jobs?d={i}"))
                .collect(),
            hourly: false,
            range_label: "the last 3 days",
        };
        let html = chart_html(&data, &summary(&data));
        assert!(!html.contains("role=\"img\""), "{html}");
        let (picture, rest) = html.split_once("</svg>").unwrap();
        assert!(picture.contains("<svg class=\"activity-chart\" aria-hidden=\"true\""));
        assert_eq!(picture.matches("<a ").count(), 3);
        assert_eq!(picture.matches("tabindex=\"-1\"").count(), 3);
        let table = rest.split_once("<table").unwrap().1;
        for i in 0..3 {
            assert!(
                table.contains(&format!("<a href=\"/admin/regeneration-jobs?d={i}\">")),
                "{table}"
            );
        }
        assert!(!rest.contains("tabindex"));
    }
}
