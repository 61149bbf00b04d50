//! The REST API under `/api`: each route a thin shim over the service.
//!
//! This module is the route table. Every operation is declared once, with
//! `#[utoipa::path]` on its handler (in the module of its resource), and
//! `routes()` builds both the axum router and the OpenAPI document from
//! those declarations, so the two cannot disagree. The 405 answers and
//! their `Allow` header come from the same router.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::Problem;
use super::state::AppState;
use responses::ServiceErrors;

mod audit;
mod bulk;
mod export;
mod idempotency;
mod jobs;
mod query;
mod responses;
mod stats;

pub use jobs::{with_redacted_count, REDACTED_HEADER};

pub const API_PREFIX: &str = "/api";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "regen-admin",
        description = "Admin control plane for content regeneration jobs: list, inspect, trigger a PENDING job."
    ),
    servers((url = "/api")),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Token from `regen-admin token create NAME`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                super::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The API's routes and their description, from the one set of declarations.
fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(jobs::list_jobs))
        .routes(routes!(stats::job_stats))
        .routes(routes!(export::export_jobs))
        .routes(routes!(stats::job_activity))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(export::export_audit_events))
        .routes(routes!(jobs::get_job))
        .routes(routes!(jobs::trigger_job))
        .routes(routes!(bulk::bulk_trigger))
        .routes(routes!(openapi_document))
        .split_for_parts();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    (router, document)
}

/// The `/api` router (nested under `/api`). It has no fallback of its own:
/// axum flattens a nested router only without one, and only flattened
/// routes get their `Allow` header on a 405. Unknown paths are
/// [`unknown_path`]'s.
pub fn router() -> Router<AppState> {
    routes().0
}

/// Every other path under `/api`.
pub async fn unknown_path() -> Problem {
    Problem::not_found("There is no API route at this path.")
}

/// The OpenAPI 3.1 document of this API, as served at `/api/openapi.json`.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| routes().1)
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    responses(
        (status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object),
        ServiceErrors,
    )
)]
async fn openapi_document() -> Response {
    static JSON: OnceLock<Vec<u8>> = OnceLock::new();
    let body = JSON.get_or_init(|| {
        openapi()
            .to_json()
            .expect("the document serialises")
            .into_bytes()
    });
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.as_slice(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parameter(name: &str) -> serde_json::Value {
        let document = serde_json::to_value(openapi()).unwrap();
        document["paths"]["/admin/regeneration-jobs"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no parameter {name}"))
    }

    #[test]
    fn both_triggers_describe_the_idempotency_key_the_service_accepts() {
        let document = serde_json::to_value(openapi()).unwrap();
        for path in [
            "/admin/regeneration-jobs/{jobId}/trigger",
            "/admin/regeneration-jobs/bulk-trigger",
        ] {
            let key = document["paths"][path]["post"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "Idempotency-Key")
                .cloned()
                .unwrap_or_else(|| panic!("{path} describes no Idempotency-Key"));
            assert_eq!(key["in"], "header", "{path}");
            assert_eq!(
                key["schema"]["maxLength"],
                regen_service::MAX_IDEMPOTENCY_KEY_LEN,
                "{path}"
            );
            for status in ["400", "409", "422"] {
                assert!(
                    document["paths"][path]["post"]["responses"][status].is_object(),
                    "{path} {status}"
                );
            }
        }
    }

    #[test]
    fn the_detail_describes_the_redaction_header_it_sends() {
        let document = serde_json::to_value(openapi()).unwrap();
        let headers = &document["paths"]["/admin/regeneration-jobs/{jobId}"]["get"]["responses"]
            ["200"]["headers"];
        let names: Vec<String> = headers
            .as_object()
            .expect("the detail's 200 has headers")
            .keys()
            .map(|name| name.to_lowercase())
            .collect();
        assert_eq!(names, [REDACTED_HEADER]);
    }

    #[test]
    fn the_described_limits_are_the_ones_the_service_enforces() {
        let limit = parameter("limit");
        assert_eq!(limit["schema"]["maximum"], regen_service::MAX_PAGE_SIZE);
        assert_eq!(limit["schema"]["default"], regen_service::DEFAULT_PAGE_SIZE);
        assert_eq!(
            parameter("cursor")["schema"]["pattern"],
            regen_service::CURSOR_PATTERN
        );
        for label in ["targetType", "targetId"] {
            assert_eq!(
                parameter(label)["schema"]["maxLength"],
                regen_domain::MAX_LABEL_LEN
            );
        }
    }
}
