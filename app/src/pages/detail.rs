use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use regen_domain::{JobDetail, Timestamp, TriggerOutcome};

use super::{current_query, ErrorPanel, PageError};
use crate::components::badge::StatusBadge;
use crate::components::json_viewer::ReadOnlyJsonViewer;
use crate::components::target::{TargetJobs, TargetJobsPanel, TargetLink};
use crate::components::time::Time;
use crate::components::trigger::TriggerControl;

/// What the detail page shows, loaded on the server.
#[derive(Debug, Clone)]
struct DetailData {
    job: JobDetail,
    now: Timestamp,
    /// "Open target", when its type has a URL template.
    target_href: Option<String>,
    others: TargetJobs,
}

#[cfg(feature = "ssr")]
async fn load(id: String) -> Result<DetailData, PageError> {
    let info = crate::ssr::request_info();
    let service = crate::ssr::service();
    let failed = |e| PageError::from_service(e, &info.request_id);
    let job = service
        .get_job(info.caller.as_ref(), &id)
        .await
        .map_err(failed)?;
    let others = service
        .other_jobs_of_target(info.caller.as_ref(), &job)
        .await
        .map_err(failed)?;
    let more_href = others.more.then(|| {
        let filter = regen_service::ListQuery {
            target_type: Some(job.target_type.clone()),
            target_id: Some(job.target_id.clone()),
            ..Default::default()
        };
        format!("/admin/regeneration-jobs?{}", filter.to_query_string(None))
    });
    let target_href = crate::ssr::ui_config()
        .target_links
        .href(&job.target_type, &job.target_id);
    Ok(DetailData {
        job,
        now: regen_service::now(),
        target_href,
        others: TargetJobs {
            jobs: others.jobs,
            more_href,
        },
    })
}

#[cfg(not(feature = "ssr"))]
async fn load(_id: String) -> Result<DetailData, PageError> {
    Err(PageError::Internal)
}

/// What the last trigger attempt from this browser did, carried in the
/// redirect back to this page (`?outcome=`).
fn outcome_notice(query: &str) -> Option<(&'static str, &'static str)> {
    let outcome = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("outcome="))
        .and_then(TriggerOutcome::parse)?;
    match outcome {
        TriggerOutcome::Triggered => Some(("notice success", "Job triggered: it is now RUNNING.")),
        TriggerOutcome::Conflict => Some((
            "notice warning",
            "This job was no longer PENDING, so nothing was triggered. Someone else was faster; the page shows its current status.",
        )),
        TriggerOutcome::Unavailable => Some(("notice error", "The database was unavailable; nothing was triggered. Try again.")),
        // The page itself says there is no such job.
        TriggerOutcome::NotFound => None,
    }
}

/// `/admin/regeneration-jobs/{id}`: metadata, the three JSON documents in
/// read-only viewers, the trigger control (PENDING only) and the audit trail.
#[component]
pub fn JobDetailPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    let query = current_query();
    view! {
        <Suspense fallback=|| ()>
            {
                let id = id.clone();
                let query = query.clone();
                Suspend::new(async move {
                    match load(id).await {
                        Ok(data) => view! { <JobView data query/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }
        </Suspense>
    }
}

#[component]
fn JobView(data: DetailData, query: String) -> impl IntoView {
    let DetailData {
        job,
        now,
        target_href,
        others,
    } = data;
    let id = job.id.to_string();
    let open_target = target_href.map(|href| {
        view! { " " <TargetLink href>"Open target"</TargetLink> }
    });
    let notice = outcome_notice(&query).map(|(class, text)| {
        view! { <p class=class role="status">{text}</p> }
    });
    let trigger = job.status.is_triggerable().then(|| {
        view! {
            <TriggerControl
                job_id=id.clone()
                target=format!("{} {}", job.target_type, job.target_id)
            />
        }
    });
    let output = job.output_ref.clone().map(|doc| {
        let hidden = job.hidden.output_ref.clone();
        view! { <ReadOnlyJsonViewer title="outputRef" field="outputRef" job_id=id.clone() doc hidden/> }
    });
    let error = job.error_json.clone().map(|doc| {
        let hidden = job.hidden.error_json.clone();
        view! { <ReadOnlyJsonViewer title="errorJson" field="errorJson" job_id=id.clone() doc hidden/> }
    });
    let events = job
        .audit_events
        .iter()
        .cloned()
        .map(|event| {
            view! {
                <li class="event">
                    <span class="event-type">{event.event_type.as_str()}</span>
                    <span class="event-actor">"by " <a href=crate::pages::audit::audit_href(&[("actor", &event.actor)]) title=event.actor.clone()>{event.actor_name}</a></span>
                    <Time at=event.occurred_at now/>
                    <span class="event-request">
                        {event.request_id.map(|r| view! { "request " <code>{r}</code> })}
                    </span>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <a href="/admin/regeneration-jobs">"Regeneration jobs"</a>
            " / "
            <span aria-current="page">{id.clone()}</span>
        </nav>
        <h1>"Job " <code class="job-id-full">{id.clone()}</code> " " <StatusBadge status=job.status/></h1>
        {notice}
        <dl class="meta">
            <dt>"Status"</dt><dd><StatusBadge status=job.status/></dd>
            <dt>"Target type"</dt><dd>{job.target_type.clone()}</dd>
            <dt>"Target id"</dt><dd>{job.target_id.clone()} {open_target}</dd>
            <dt>"Created"</dt><dd><Time at=job.created_at now/></dd>
            <dt>"Created by"</dt><dd>{job.created_by.clone()}</dd>
        </dl>
        {trigger}
        <TargetJobsPanel others now/>
        <ReadOnlyJsonViewer title="instructionJson" field="instructionJson" job_id=id.clone() doc=job.instruction_json.clone() hidden=job.hidden.instruction_json.clone()/>
        {output}
        {error}
        <section class="audit" aria-labelledby="audit-heading">
            <h2 id="audit-heading">"Audit trail"</h2>
            <p><a href=crate::pages::audit::audit_href(&[("jobId", &id)]) class="audit-link">"This job in the audit log"</a></p>
            <ol class="timeline">{events}</ol>
            <p class="now">"Current status: " <StatusBadge status=job.status/></p>
        </section>
    }
}
