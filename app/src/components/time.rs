use leptos::prelude::*;
use regen_domain::Timestamp;

/// An absolute UTC time, plus its age when `now` is given. Rendered on the
/// server only, so server and browser never disagree about "now".
#[component]
pub fn Time(at: Timestamp, #[prop(optional)] now: Option<Timestamp>) -> impl IntoView {
    let iso = at.to_string();
    let readable = at.as_datetime().format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let age = now.map(|now| view! { <span class="age">{at.age(now)}</span> });
    view! {
        <time datetime=iso.clone() title=iso>{readable}</time>
        {age}
    }
}
