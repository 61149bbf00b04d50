pub mod account;
pub mod audit;
pub mod bulk;
pub mod detail;
pub mod list;
pub mod login;
pub mod not_found;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Why a page could not show its data, as the visitor should see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageError {
    BadRequest(String),
    Forbidden,
    NotFound,
    Unavailable,
    Internal,
}

#[cfg(feature = "ssr")]
impl PageError {
    /// Maps a service error, setting the response status and logging what
    /// must not be shown.
    pub fn from_service(error: regen_service::ServiceError, request_id: &str) -> Self {
        use http::StatusCode;
        use regen_service::ServiceError as E;
        let (status, page) = match error {
            E::InvalidInput(message) | E::InvalidParameter { message, .. } => {
                (StatusCode::BAD_REQUEST, PageError::BadRequest(message))
            }
            E::Unauthenticated | E::Forbidden | E::InsufficientScope => {
                (StatusCode::FORBIDDEN, PageError::Forbidden)
            }
            E::NotFound => (StatusCode::NOT_FOUND, PageError::NotFound),
            E::Unavailable(cause) => {
                tracing::warn!(request_id, error = %cause, "database unavailable while rendering a page");
                (StatusCode::SERVICE_UNAVAILABLE, PageError::Unavailable)
            }
            other => {
                tracing::error!(request_id, error = ?other, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, PageError::Internal)
            }
        };
        crate::ssr::set_status(status);
        page
    }
}

/// The raw query string of the page being rendered (empty in the browser,
/// where these pages never render).
#[cfg(feature = "ssr")]
pub(crate) fn current_query() -> String {
    crate::ssr::query_string()
}

#[cfg(not(feature = "ssr"))]
pub(crate) fn current_query() -> String {
    String::new()
}

#[component]
pub fn ErrorPanel(error: PageError) -> impl IntoView {
    let (title, detail) = match error {
        PageError::BadRequest(message) => ("That request is not valid", message),
        PageError::Forbidden => (
            "Admins only",
            "Your account does not have the admin role.".to_owned(),
        ),
        PageError::NotFound => (
            "Not found",
            "There is no regeneration job with that id.".to_owned(),
        ),
        PageError::Unavailable => (
            "Database unavailable",
            "The database is not answering right now. Nothing was changed; try again in a moment."
                .to_owned(),
        ),
        PageError::Internal => (
            "Something went wrong",
            "The error has been logged. Nothing was changed.".to_owned(),
        ),
    };
    view! {
        <section class="error-panel" role="alert">
            <h1>{title}</h1>
            <p>{detail}</p>
            <p><a href="/admin/regeneration-jobs">"Back to the job list"</a></p>
        </section>
    }
}
