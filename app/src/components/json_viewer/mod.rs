//! `ReadOnlyJsonViewer`: a server-rendered, collapsible JSON tree with a raw
//! view, made interactive by the [`JsonViewerTools`] island. Three layers:
//! the HTML comes from `regen_domain::json_html` (no Leptos), the toolbar is
//! server-rendered markup whose buttons name a [`ViewerAction`], and [`dom`]
//! is the browser-only code the island runs for them.
//! Nothing here can change data: the only input is the filter box.

mod dom;
mod tools;

use std::ops::Range;

use leptos::prelude::*;
use regen_domain::json_html::{raw_pre_html, render_tree_html, HIDDEN_TITLE, TREE_LIMIT_BYTES};
use regen_domain::json_tree::human_size;
use regen_domain::JsonText;

pub use tools::{JsonViewerTools, Toolbar, ViewerAction};

/// One JSON field of a job: heading, size, toolbar island, tree and raw view.
/// `hidden` are the spans of `doc` whose values redaction hid: counted above
/// the tree, and marked in it.
#[component]
pub fn ReadOnlyJsonViewer(
    title: &'static str,
    field: &'static str,
    job_id: String,
    doc: JsonText,
    #[prop(optional)] hidden: Vec<Range<usize>>,
) -> impl IntoView {
    let size = human_size(doc.len());
    let heading_id = format!("{field}-heading");
    let labelled_by = heading_id.clone();
    let file_name = format!("regeneration-job-{job_id}-{field}.json");
    // A plain link: works without JavaScript and serves the stored bytes
    // (as redacted as everything else shown here).
    let download = format!("/admin/regeneration-jobs/{job_id}/download/{field}");
    let raw = raw_pre_html(&doc);
    let tree = render_tree_html(&doc, title, &hidden);
    let redaction_notice = match hidden.len() {
        0 => None,
        1 => Some("1 value hidden".to_owned()),
        count => Some(format!("{count} values hidden")),
    }
    .map(|text| {
        view! { <p class="redaction-notice" title=HIDDEN_TITLE>{text}</p> }
    });
    let tree_view = match tree {
        Some(html) => view! { <div class="jt-tree" inner_html=html></div> }.into_any(),
        None => view! {
            <p class="notice">
                "This document is " {size.clone()} ": the tree view is off above "
                {human_size(TREE_LIMIT_BYTES)} ". Download it, or open the raw view."
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="json-section" aria-labelledby=labelled_by>
            <h2 id=heading_id>{title} " " <span class="size">{size}</span></h2>
            {redaction_notice}
            <JsonViewerTools>
                <Toolbar file_name download/>
                {tree_view}
                // Hidden until asked for: laying out megabytes of text is what
                // makes large documents slow, not parsing them.
                <pre class="jt-raw" hidden=true tabindex="0" inner_html=raw></pre>
            </JsonViewerTools>
        </section>
    }
}
