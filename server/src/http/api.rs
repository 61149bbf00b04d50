//! The REST API: three routes, each a thin shim over the service.

use app::ssr::RequestInfo;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use regen_service::ListQuery;

use super::problem::Problem;
use super::AppState;

pub const JOBS_PATH: &str = "/api/admin/regeneration-jobs";
/// A trigger needs no body; anything bigger than this is refused.
pub const TRIGGER_BODY_LIMIT: usize = 16 * 1024;

/// Routes and the methods each allows, for the router, the 405 answers and
/// the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("/admin/regeneration-jobs", "GET, HEAD"),
    ("/admin/regeneration-jobs/{jobId}", "GET, HEAD"),
    ("/admin/regeneration-jobs/{jobId}/trigger", "POST"),
    ("/openapi.json", "GET, HEAD"),
];

fn not_allowed(allow: &'static str) -> impl Fn() -> std::future::Ready<Response> + Clone {
    move || std::future::ready(Problem::method_not_allowed(allow).into_response())
}

/// The `/api` router (nested under `/api`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/regeneration-jobs",
            get(list_jobs).fallback(not_allowed(ROUTES[0].1)),
        )
        .route(
            "/admin/regeneration-jobs/{jobId}",
            get(get_job).fallback(not_allowed(ROUTES[1].1)),
        )
        .route(
            "/admin/regeneration-jobs/{jobId}/trigger",
            post(trigger_job).fallback(not_allowed(ROUTES[2].1)),
        )
        .route(
            "/openapi.json",
            get(super::openapi::document).fallback(not_allowed(ROUTES[3].1)),
        )
        .fallback(|| async { Problem::not_found("There is no API route at this path.") })
}

async fn list_jobs(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let query = ListQuery::from_query_string(query.as_deref().unwrap_or(""))?;
        let page = state
            .service
            .list_jobs(info.caller.as_ref(), &query)
            .await?;
        Ok::<_, regen_service::ServiceError>((query, page))
    }
    .await;
    match result {
        Ok((query, page)) => {
            let mut links = Vec::new();
            if let Some(cursor) = &page.next_cursor {
                links.push(format!(
                    "<{JOBS_PATH}?{}>; rel=\"next\"",
                    query.to_query_string(Some(cursor))
                ));
            }
            if let Some(cursor) = &page.prev_cursor {
                links.push(format!(
                    "<{JOBS_PATH}?{}>; rel=\"prev\"",
                    query.to_query_string(Some(cursor))
                ));
            }
            let mut response = Json(page.jobs).into_response();
            if !links.is_empty() {
                if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
                    response.headers_mut().insert(header::LINK, value);
                }
            }
            response
        }
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

async fn get_job(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
) -> Response {
    match state.service.get_job(info.caller.as_ref(), &id).await {
        Ok(job) => Json(job).into_response(),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}

async fn trigger_job(
    State(state): State<AppState>,
    Extension(info): Extension<RequestInfo>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    // The body is ignored, but read up to the limit so that an oversized one
    // is refused instead of silently accepted.
    if axum::body::to_bytes(body, TRIGGER_BODY_LIMIT)
        .await
        .is_err()
    {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("A trigger needs no body; at most {TRIGGER_BODY_LIMIT} bytes are accepted."),
        )
        .into_response();
    }
    match state
        .service
        .trigger_job(info.caller.as_ref(), &id, Some(&info.request_id))
        .await
    {
        Ok(triggered) => Json(triggered.job).into_response(),
        Err(error) => Problem::from_service(error, &info.request_id).into_response(),
    }
}
