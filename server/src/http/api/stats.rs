//! Figures kept by the database: the job counts and the activity over time.

use app::ssr::RequestInfo;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use regen_domain::{ActivityBucket, JobStats};
use regen_service::{ActivityQuery, BucketSize};
use serde::Deserialize;
use serde_html_form::de::empty_as_none;
use utoipa::{IntoParams, ToSchema};

use super::query::{instant_or_empty, Query};
use super::responses::{ServiceErrors, PROBLEM};
use crate::http::problem::Problem;
use crate::http::state::AppState;

/// Says that a range had more buckets than one answer holds: its value is
/// the range's bucket count, and the answer is the newest 1,000.
const BUCKETS_TRUNCATED: &str = "x-buckets-truncated";

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsParameters {
    /// Restrict every figure to this target type.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
}

/// Exact job counts by status and target type, and the oldest PENDING job.
/// Costs the same at any number of jobs: the database keeps the counts in
/// the same transaction as every insert and trigger.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/stats",
    operation_id = "jobStats",
    params(StatsParameters),
    responses(
        (status = 200, description = "The counts; `byStatus` always has all four statuses", body = JobStats),
        (status = 400, description = "Invalid, unknown or repeated query parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn job_stats(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Query(parameters): Query<StatsParameters>,
) -> Result<Json<JobStats>, Problem> {
    let stats = state
        .service
        .job_stats(info.caller.as_ref(), parameters.target_type.as_deref())
        .await?;
    Ok(Json(stats))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum BucketName {
    Hour,
    Day,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActivityParameters {
    /// Bucket size (UTC edges); default `hour`.
    #[param(inline)]
    bucket: Option<BucketName>,
    /// Start of the range (RFC 3339), floored to its bucket; default: 24 hours or 30 days before `to`.
    #[param(schema_with = instant_or_empty)]
    from: Option<String>,
    /// End of the range (RFC 3339, exclusive), rounded up to a bucket edge; default: the end of the current bucket.
    #[param(schema_with = instant_or_empty)]
    to: Option<String>,
    /// Only jobs of this target type.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(max_length = 200, pattern = r"^[^\u0000]*$")]
    target_type: Option<String>,
}

/// Jobs over time: per bucket, the jobs created in it by their status now,
/// and the triggers in it; oldest first, empty buckets included. A range
/// of more than 1,000 buckets answers its newest 1,000 (and says so in
/// `X-Buckets-Truncated`); one whose `from` is not before `to` has none.
/// Read from hourly counters the database keeps, so the cost does not grow
/// with the number of jobs.
#[utoipa::path(
    get,
    path = "/admin/regeneration-jobs/activity",
    operation_id = "jobActivity",
    params(ActivityParameters),
    responses(
        (status = 200, description = "The buckets, oldest first", body = [ActivityBucket], headers(
            ("X-Buckets-Truncated" = u32, description = "Present when the range had more than 1,000 buckets: how many it had. The answer holds its newest 1,000"),
        )),
        (status = 400, description = "A bad bucket or instant, or an unknown or repeated parameter", body = Problem, content_type = PROBLEM),
        ServiceErrors,
    )
)]
pub async fn job_activity(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Query(parameters): Query<ActivityParameters>,
) -> Result<Response, Problem> {
    let size = match parameters.bucket {
        None | Some(BucketName::Hour) => BucketSize::Hour,
        Some(BucketName::Day) => BucketSize::Day,
    };
    let query = ActivityQuery::new(
        size,
        parameters.from.as_deref(),
        parameters.to.as_deref(),
        parameters.target_type,
        regen_service::now(),
    )?;
    let buckets = state
        .service
        .job_activity(info.caller.as_ref(), &query)
        .await?;
    let mut response = Json(buckets).into_response();
    if let Some(count) = query.truncated_from {
        response
            .headers_mut()
            .insert(BUCKETS_TRUNCATED, HeaderValue::from(count));
    }
    Ok(response)
}
