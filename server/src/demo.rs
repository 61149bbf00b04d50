//! `regen-admin demo`: a realistic data set to explore the product with.

use regen_domain::{JobStatus, JsonText, NewJob};
use regen_service::{AdminService, Role};

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

/// Inserts `count` jobs across every status and target type, with
/// instruction sizes from tiny to over 1 MB, and an `admin` account.
pub async fn seed(
    service: &AdminService,
    count: usize,
    admin_password: &str,
) -> Result<(), String> {
    if service
        .store()
        .find_user_by_name("admin")
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        service
            .create_user("admin", Role::Admin, admin_password)
            .await
            .map_err(crate::cli::describe)?;
    }
    if service
        .store()
        .find_user_by_name("member")
        .await
        .map_err(|e| e.to_string())?
        .is_none()
    {
        service
            .create_user("member", Role::Member, admin_password)
            .await
            .map_err(crate::cli::describe)?;
    }
    for n in 0..count {
        let status = match n % 7 {
            0..=2 => JobStatus::Pending,
            3 => JobStatus::Running,
            4 | 5 => JobStatus::Completed,
            _ => JobStatus::Failed,
        };
        // Mostly small documents, some large, one over a megabyte.
        let steps = match n {
            1 => 9_000,
            _ if n % 50 == 7 => 600,
            _ => n % 6 + 1,
        };
        let job = NewJob {
            status,
            target_type: TARGET_TYPES[n % TARGET_TYPES.len()].to_owned(),
            target_id: format!(
                "{}-{:05}",
                &TARGET_TYPES[n % TARGET_TYPES.len()][..3],
                n / 3
            ),
            instruction_json: JsonText::parse(instruction(n, steps)).map_err(|e| e.to_string())?,
            output_ref: (status == JobStatus::Completed)
                .then(|| {
                    JsonText::parse(format!(
                        r#"{{"uri":"s3://regen-output/{n:05}.json","bytes":{}}}"#,
                        1000 + n
                    ))
                })
                .transpose()
                .map_err(|e| e.to_string())?,
            error_json: (status == JobStatus::Failed)
                .then(|| JsonText::parse(error_json(n)))
                .transpose()
                .map_err(|e| e.to_string())?,
            created_by: if n % 4 == 0 {
                "insight-service"
            } else {
                "editor-bot"
            }
            .to_owned(),
        };
        service
            .store()
            .insert_job(job)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
