//! `regen-admin demo`: a realistic data set to explore the product with.

use regen_domain::{
    AuditEvent, AuditEventType, JobId, JobStatus, JsonText, NewJob, Role, Timestamp,
};
use regen_service::{AdminService, Operator};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::describe;
use crate::progress::Progress;

const TARGET_TYPES: [&str; 4] = ["insight", "article", "summary", "headline"];

fn instruction(n: usize, steps: usize) -> String {
    let steps: Vec<String> = (0..steps)
        .map(|s| {
            format!(
                r#"{{"step":{s},"prompt":"Rewrite paragraph {s} of insight {n} for a general audience; keep figures exact.","maxTokens":512,"temperature":0.2}}"#
            )
        })
        .collect();
    format!(
        r#"{{"insightId":"ins-{n:05}","reason":"source data revised","model":"writer-v3","priority":{},"budget":12345678901234567890.125,"locale":"en-GB","steps":[{}],"notes":"<b>not html</b> </script> javascript:alert(1)"}}"#,
        n % 5,
        steps.join(",")
    )
}

fn error_json(n: usize) -> String {
    format!(
        r#"{{"code":"GENERATOR_TIMEOUT","message":"generator did not answer within 30s","attempt":{},"cause":{{"code":"UPSTREAM_503","service":"writer","details":{{"region":"eu-west-1","retryable":true,"trace":["gateway","writer","pool"]}}}}}}"#,
        n % 3 + 1
    )
}

/// The demo account names and their role.
pub const ACCOUNTS: [(&str, Role); 2] = [("admin", Role::Admin), ("member", Role::Member)];

/// Jobs inserted per transaction.
const BATCH: usize = 1_000;

/// What a seeding run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    /// Jobs committed (with their audit history).
    pub jobs: usize,
    /// Stopped early on request; everything counted in `jobs` is kept.
    pub interrupted: bool,
}

/// Inserts `count` jobs across every status and target type, created over
/// the last 30 days, with instruction sizes from tiny to over 1 MB, plus the
/// `admin` and `member` accounts when they do not exist yet. Each batch of
/// jobs and its audit history commits on its own; `stop` is looked at
/// between batches, so an interrupted run keeps whole batches only.
pub async fn seed(
    service: &AdminService,
    operator: &Operator,
    count: usize,
    password: &str,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<Seeded, String> {
    for (name, role) in ACCOUNTS {
        if service
            .find_user(operator, name)
            .await
            .map_err(describe)?
            .is_none()
        {
            service
                .create_user(operator, name, role, password)
                .await
                .map_err(describe)?;
        }
    }
    let admin = service
        .find_user(operator, "admin")
        .await
        .map_err(describe)?
        .ok_or("the admin account is missing")?;
    let seeded = insert_demo_jobs(service, operator, count, &admin.user_id, progress, stop).await?;
    if seeded.jobs > 0 {
        service
            .refresh_statistics(operator)
            .await
            .map_err(describe)?;
    }
    Ok(seeded)
}

async fn insert_demo_jobs(
    service: &AdminService,
    operator: &Operator,
    count: usize,
    admin_id: &str,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<Seeded, String> {
    let now = regen_service::now().millis();
    let spacing = (30 * 24 * 3600 * 1000 / count.max(1) as i64).max(1);
    let mut batch = Vec::with_capacity(BATCH);
    let mut committed = 0;
    for n in 0..count {
        if batch.is_empty() && stop.load(Ordering::Relaxed) {
            return Ok(Seeded {
                jobs: committed,
                interrupted: true,
            });
        }
        let created_at = Timestamp::from_millis(now - (count - n) as i64 * spacing)
            .ok_or("clock out of range")?;
        batch.push((demo_job(n)?, created_at));
        if batch.len() == BATCH || n + 1 == count {
            let jobs = std::mem::take(&mut batch);
            let size = jobs.len();
            let history: Vec<_> = jobs.iter().map(|(job, at)| (job.status, *at)).collect();
            let ids = service
                .import_jobs(operator, jobs)
                .await
                .map_err(describe)?;
            let events: Vec<AuditEvent> = ids
                .into_iter()
                .zip(history)
                .flat_map(|(id, (status, at))| lifecycle(id, status, at, admin_id, now))
                .collect();
            service
                .import_audit_events(operator, &events)
                .await
                .map_err(describe)?;
            committed += size;
            progress.advance(size as u64);
        }
    }
    Ok(Seeded {
        jobs: committed,
        interrupted: false,
    })
}

/// The audit history a job in `status` would have: triggered by the admin
/// a few minutes after creation, then finished by the executor.
fn lifecycle(
    job_id: JobId,
    status: JobStatus,
    created_at: Timestamp,
    admin_id: &str,
    now: i64,
) -> Vec<AuditEvent> {
    let at = |minutes: i64| {
        Timestamp::from_millis((created_at.millis() + minutes * 60_000).min(now))
            .unwrap_or(created_at)
    };
    let event = |event_type, actor: &str, occurred_at| AuditEvent {
        id: uuid::Uuid::now_v7(),
        event_type,
        job_id,
        actor: actor.to_owned(),
        occurred_at,
        request_id: Some(uuid::Uuid::new_v4().to_string()),
        details: None,
    };
    let triggered = event(AuditEventType::Triggered, admin_id, at(3));
    match status {
        JobStatus::Pending => vec![],
        JobStatus::Running => vec![triggered],
        JobStatus::Completed => vec![
            triggered,
            event(AuditEventType::Completed, "executor", at(9)),
        ],
        JobStatus::Failed => vec![triggered, event(AuditEventType::Failed, "executor", at(7))],
    }
}

fn demo_job(n: usize) -> Result<NewJob, String> {
    let status = match n % 7 {
        0..=2 => JobStatus::Pending,
        3 => JobStatus::Running,
        4 | 5 => JobStatus::Completed,
        _ => JobStatus::Failed,
    };
    // Mostly small documents, a few large ones, one over a megabyte.
    let steps = match n {
        1 => 9_000,
        _ if n % 1000 == 7 => 600,
        _ => n % 3 + 1,
    };
    let target_type = TARGET_TYPES[n % TARGET_TYPES.len()];
    let json = |text: String| JsonText::parse(text).map_err(|e| e.to_string());
    Ok(NewJob {
        status,
        target_type: target_type.to_owned(),
        target_id: format!("{}-{:05}", &target_type[..3], n / 3),
        instruction_json: json(instruction(n, steps))?,
        output_ref: match status {
            JobStatus::Completed => Some(json(format!(
                r#"{{"uri":"s3://regen-output/{n:05}.json","bytes":{}}}"#,
                1000 + n
            ))?),
            _ => None,
        },
        error_json: match status {
            JobStatus::Failed => Some(json(error_json(n))?),
            _ => None,
        },
        created_by: if n.is_multiple_of(4) {
            "insight-service"
        } else {
            "editor-bot"
        }
        .to_owned(),
    })
}
