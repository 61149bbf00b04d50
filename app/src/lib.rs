#![recursion_limit = "256"]
//! The Leptos UI: the HTML shell, the admin pages, the documents the server
//! renders outside the router (login, 403, 503), the islands that make the
//! detail page interactive, and the server function behind the trigger
//! button.
//!
//! Pages render on the server only; the browser hydrates just the islands
//! (`TriggerTools`, `JsonViewerTools`, and on a list of PENDING jobs
//! `BulkTriggerTools`), so any other list page ships no WASM work at all. Everything the pages read comes from `regen-service`, the same
//! layer the REST API uses.

#![forbid(unsafe_code)]

pub mod components;
#[cfg(feature = "ssr")]
pub mod documents;
pub mod pages;
pub mod server_fns;
mod shell;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use shell::{shell, App, DocumentHead, PAGE_SCRIPT, PAGE_SCRIPT_NAME};
