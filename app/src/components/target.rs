//! A job's target: the link to it where it lives
//! (`REGEN_TARGET_URL_TEMPLATES`) and the panel of its other jobs.

use leptos::prelude::*;
use regen_domain::{JobSummary, Timestamp};

use super::badge::StatusBadge;
use super::time::{Time, TimeZoneLabel};

/// Opens in a new tab, so the admin keeps their place here, and tells the
/// opened page nothing about this one.
#[component]
pub fn TargetLink(href: String, children: Children) -> impl IntoView {
    view! {
        <a href=href class="target-link" target="_blank" rel="noopener noreferrer">
            {children()}
            <span class="visually-hidden">" (opens in a new tab)"</span>
        </a>
    }
}

/// The other jobs of a job's target, as the detail page lists them.
#[derive(Debug, Clone, Default)]
pub struct TargetJobs {
    /// Newest first, at most `regen_service::OTHER_JOBS_SHOWN`.
    pub jobs: Vec<JobSummary>,
    /// The list filtered to this target, when it holds more than these.
    pub more_href: Option<String>,
}

/// "Other jobs for this target": id, status and creation time of each,
/// newest first, and the way to the rest.
#[component]
pub fn TargetJobsPanel(others: TargetJobs, now: Timestamp) -> impl IntoView {
    let TargetJobs { jobs, more_href } = others;
    let body = if jobs.is_empty() {
        view! { <p class="empty-state">"No other jobs for this target."</p> }.into_any()
    } else {
        let rows = jobs
            .into_iter()
            .map(|job| {
                let id = job.id.to_string();
                let href = format!("/admin/regeneration-jobs/{id}");
                view! {
                    <tr>
                        <td><a href=href class="job-id"><code>{id}</code></a></td>
                        <td><StatusBadge status=job.status/></td>
                        <td><Time at=job.created_at now/></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-wrap">
                <table class="jobs target-jobs">
                    <caption class="visually-hidden">"Other jobs for this target, newest first"</caption>
                    <thead><tr>
                        <th scope="col">"Id"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created " <TimeZoneLabel/></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    let more = more_href.map(|href| {
        view! { <p class="more"><a href=href class="target-jobs-more">"More: every job for this target"</a></p> }
    });
    view! {
        <section class="target-jobs-panel" aria-labelledby="target-jobs-heading">
            <h2 id="target-jobs-heading">"Other jobs for this target"</h2>
            {body}
            {more}
        </section>
    }
}
