//! Pieces every filtered, keyset-paged listing page shares (jobs, audit).

use leptos::prelude::*;

/// "← Newer" / "Older →" links, shown when either neighbour exists.
#[component]
pub fn Pager(newer_href: Option<String>, older_href: Option<String>) -> impl IntoView {
    (newer_href.is_some() || older_href.is_some()).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {match newer_href {
                    Some(href) => view! { <a rel="prev" href=href>"← Newer"</a> }.into_any(),
                    None => view! { <span class="disabled">"← Newer"</span> }.into_any(),
                }}
                {match older_href {
                    Some(href) => view! { <a rel="next" href=href>"Older →"</a> }.into_any(),
                    None => view! { <span class="disabled">"Older →"</span> }.into_any(),
                }}
            </nav>
        }
    })
}

/// A text filter, with the message of a bad value next to it.
#[component]
pub fn FilterField(
    name: &'static str,
    label: &'static str,
    value: String,
    placeholder: &'static str,
    /// The message when this field's value was refused.
    error: Option<String>,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let described = error.is_some().then(|| error_id.clone());
    let invalid = error.is_some().then_some("true");
    view! {
        <label>
            {label} " "
            <input type="text" name=name value=value maxlength="200" placeholder=placeholder
                aria-invalid=invalid aria-describedby=described/>
            {error.map(|e| view! { <span class="field-error" id=error_id role="alert">{e}</span> })}
        </label>
    }
}

/// "Export these …: CSV NDJSON", each a download of every row the filters
/// (a query string) select.
#[component]
pub fn ExportLinks(what: &'static str, endpoint: &'static str, filters: String) -> impl IntoView {
    let link = |format: &'static str| {
        let href = if filters.is_empty() {
            format!("{endpoint}?format={format}")
        } else {
            format!("{endpoint}?format={format}&{filters}")
        };
        view! { <a href=href class="export" download="">{format.to_uppercase()}</a> }
    };
    view! { <p class="exports">"Export these " {what} ": " {link("csv")} " " {link("ndjson")}</p> }
}

/// Time windows one click away.
#[component]
pub fn Presets(label: &'static str, presets: Vec<(&'static str, String)>) -> impl IntoView {
    let links = presets
        .into_iter()
        .map(|(name, href)| view! { <a href=href class="preset">{name}</a> })
        .collect_view();
    view! { <p class="presets">{label} " " {links}</p> }
}
