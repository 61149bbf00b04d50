use leptos::prelude::*;
use regen_domain::Timestamp;

/// An absolute time as `<time datetime="…Z" title="… UTC">… UTC</time>`,
/// plus its age when `now` is given. Rendered on the server only, in UTC,
/// so the page reads the same before and without JavaScript; the page
/// script (`page.js`) rewrites the text to local or relative time when the
/// admin chose that, and the UTC value stays in `title`.
#[component]
pub fn Time(at: Timestamp, #[prop(optional)] now: Option<Timestamp>) -> impl IntoView {
    let iso = at.to_string();
    let readable = at.as_datetime().format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let title = readable.clone();
    let age = now.map(|now| view! { <span class="age">{at.age(now)}</span> });
    view! {
        <time datetime=iso title=title>{readable}</time>
        {age}
    }
}

/// A column heading's time zone, "(UTC)", which the page script changes
/// with the times below it.
#[component]
pub fn TimeZoneLabel() -> impl IntoView {
    view! { <span data-time-zone="">"(UTC)"</span> }
}
