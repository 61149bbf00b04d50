//! The contract between the axum server and the pages: what the server's
//! middleware puts into each request, and how pages read it.

use leptos::prelude::*;
use regen_domain::{Caller, TargetLinks};
use regen_service::AdminService;

/// Set by the server's authentication middleware on every request (and
/// provided directly when the server renders a document itself).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub caller: Option<Caller>,
    pub request_id: String,
}

/// Settings the UI shows, from the server's configuration.
#[derive(Debug, Clone, Default)]
pub struct UiConfig {
    /// Text of the environment banner (e.g. "production"); none hides it.
    pub env_label: Option<String>,
    /// CSS colour of the banner.
    pub env_color: String,
    /// The site files' URLs (content-hashed when the server found the
    /// files); empty means the plain `/pkg/regen-admin.{css,js,wasm}`.
    pub stylesheet_href: String,
    pub script_href: String,
    pub wasm_href: String,
    /// The pages' own script (`page.js`), content-hashed.
    pub page_script_href: String,
    /// `REGEN_TARGET_URL_TEMPLATES`.
    pub target_links: TargetLinks,
}

pub fn request_info() -> RequestInfo {
    use_context::<RequestInfo>()
        .or_else(|| {
            use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<RequestInfo>().cloned())
        })
        .unwrap_or_default()
}

pub fn service() -> AdminService {
    expect_context::<AdminService>()
}

pub fn ui_config() -> UiConfig {
    use_context::<UiConfig>().unwrap_or_default()
}

/// The raw query string of the current request.
pub fn query_string() -> String {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.uri.query().map(str::to_owned))
        .unwrap_or_default()
}

pub fn set_status(status: http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// Answers 303 See Other to `location` (the page still renders a body,
/// which browsers do not show).
pub fn see_other(location: &str) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::SEE_OTHER);
        if let Ok(value) = http::HeaderValue::from_str(location) {
            response.insert_header(http::header::LOCATION, value);
        }
    }
}
