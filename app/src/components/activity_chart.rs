//! The activity chart: jobs created per bucket, stacked by their status now,
//! and triggers per bucket as a line. Inline SVG rendered on the server, no
//! JavaScript; each bar is a link to the list filtered to its time window.
//! The same numbers are in a table for anyone who cannot see the picture.

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
    /// The range choices: label, link, whether it is the current one.
    pub ranges: Vec<(&'static str, String, bool)>,
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

/// The picture in words, for `aria-label` and the caption.
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

#[component]
pub fn ActivityChart(data: ActivityChartData) -> impl IntoView {
    let text = summary(&data);
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
    let bars = data
        .buckets
        .iter()
        .zip(&data.hrefs)
        .enumerate()
        .map(|(i, (bucket, href))| {
            let x = LEFT + i as f64 * slot + (slot - bar_w) / 2.0;
            let mut base = 0.0;
            let rects = STACK
                .iter()
                .filter(|s| bucket.created.get(**s) > 0)
                .map(|status| {
                    let value = bucket.created.get(*status) as f64;
                    let (y0, y1) = (y(base), y(base + value));
                    base += value;
                    let class = format!("bar bar-{}", status.as_str().to_lowercase());
                    view! { <rect class=class x=format!("{x:.1}") y=format!("{y1:.1}") width=format!("{bar_w:.1}") height=format!("{:.1}", (y0 - y1).max(0.5))/> }
                })
                .collect_view();
            let title = format!(
                "{}: {} created ({} PENDING, {} RUNNING, {} COMPLETED, {} FAILED), {} triggered",
                label(bucket, hourly),
                grouped(bucket.created.total()),
                grouped(bucket.created.pending),
                grouped(bucket.created.running),
                grouped(bucket.created.completed),
                grouped(bucket.created.failed),
                grouped(bucket.triggered)
            );
            // The whole column is the link, so even an empty bucket can be opened.
            let hit = view! {
                <rect class="bucket-hit" x=format!("{:.1}", LEFT + i as f64 * slot) y=format!("{TOP:.1}") width=format!("{slot:.1}") height=format!("{plot_h:.1}")/>
            };
            let tick = (i % every == 0).then(|| {
                let cx = LEFT + i as f64 * slot + slot / 2.0;
                view! { <text class="axis" x=format!("{cx:.1}") y=format!("{:.1}", HEIGHT - 6.0) text-anchor="middle">{axis_label(bucket, hourly)}</text> }
            });
            view! {
                <a href=href.clone() class="bucket" data-start=bucket.start.to_string()>
                    <title>{title}</title>
                    {hit}
                    {rects}
                </a>
                {tick}
            }
        })
        .collect_view();
    let points: Vec<String> = data
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let cx = LEFT + i as f64 * slot + slot / 2.0;
            format!("{cx:.1},{:.1}", y(b.triggered as f64))
        })
        .collect();
    let line = view! { <polyline class="triggered-line" points=points.join(" ")/> };
    let top_label = grouped(top as u64);
    let rows = data
        .buckets
        .iter()
        .map(|b| {
            view! {
                <tr>
                    <th scope="row">{label(b, hourly)}</th>
                    <td>{grouped(b.created.pending)}</td>
                    <td>{grouped(b.created.running)}</td>
                    <td>{grouped(b.created.completed)}</td>
                    <td>{grouped(b.created.failed)}</td>
                    <td>{grouped(b.triggered)}</td>
                </tr>
            }
        })
        .collect_view();
    let ranges = data
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
            <svg class="activity-chart" role="img" aria-label=text.clone() viewBox=format!("0 0 {WIDTH} {HEIGHT}")>
                <line class="axis-line" x1=format!("{LEFT}") y1=format!("{:.1}", TOP + plot_h) x2=format!("{WIDTH}") y2=format!("{:.1}", TOP + plot_h)/>
                <text class="axis" x=format!("{:.1}", LEFT - 6.0) y=format!("{:.1}", TOP + 10.0) text-anchor="end">{top_label}</text>
                <text class="axis" x=format!("{:.1}", LEFT - 6.0) y=format!("{:.1}", TOP + plot_h) text-anchor="end">"0"</text>
                {bars}
                {line}
            </svg>
            <p class="chart-summary">{text}</p>
            <p class="legend">
                <span class="key key-pending">"PENDING"</span>
                <span class="key key-running">"RUNNING"</span>
                <span class="key key-completed">"COMPLETED"</span>
                <span class="key key-failed">"FAILED"</span>
                <span class="key key-triggered">"triggered"</span>
                " · click a bar to list its jobs"
            </p>
            <details class="chart-numbers">
                <summary>"The numbers"</summary>
                <div class="table-wrap">
                    <table class="numbers">
                        <thead><tr>
                            <th scope="col">"Created in"</th><th scope="col">"PENDING"</th><th scope="col">"RUNNING"</th>
                            <th scope="col">"COMPLETED"</th><th scope="col">"FAILED"</th><th scope="col">"Triggered"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </section>
    }
}
