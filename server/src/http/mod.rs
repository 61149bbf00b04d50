//! The HTTP surface: middleware (request ids, authentication, CSRF,
//! security headers, default-deny guards), the REST API, the few plain
//! HTML endpoints (login, no-JS trigger), health and metrics.

pub mod api;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pages;
pub mod problem;

use regen_service::AdminService;

use crate::config::Config;
use metrics::HttpMetrics;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: AdminService,
    pub config: std::sync::Arc<Config>,
    pub http_metrics: std::sync::Arc<HttpMetrics>,
}
