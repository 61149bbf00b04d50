#![recursion_limit = "256"]
//! The Leptos UI: the HTML shell, the two admin pages, the islands that make
//! them interactive, and the server function behind the trigger button.
//!
//! Pages render on the server only; the browser hydrates just the islands
//! (`TriggerControl`, `JsonViewerTools`), so the list page ships no WASM work
//! at all. Everything the pages read comes from `regen-service`, the same
//! layer the REST API uses.

pub mod components;
pub mod pages;
pub mod server_fns;
mod shell;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use shell::{shell, App};
