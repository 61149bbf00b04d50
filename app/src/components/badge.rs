use leptos::prelude::*;
use regen_domain::JobStatus;

/// A status badge: colour for scanning, text for reading (never colour alone).
#[component]
pub fn StatusBadge(status: JobStatus) -> impl IntoView {
    let class = format!("badge badge-{}", status.as_str().to_lowercase());
    view! { <span class=class>{status.as_str()}</span> }
}
