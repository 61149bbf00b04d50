//! The viewer's toolbar: its server-rendered buttons, the actions they name,
//! and the island that makes them work.

use std::borrow::Cow;

use leptos::prelude::*;

use super::dom;

/// What a toolbar button asks the viewer to do, named on the button by
/// [`ViewerAction::ATTRIBUTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewerAction {
    ExpandAll,
    CollapseAll,
    /// Open every node down to this level and close the rest.
    ExpandToDepth(usize),
    /// Switch between the tree and the exact raw text.
    ToggleRaw,
    CopyAll,
}

impl ViewerAction {
    pub const ATTRIBUTE: &'static str = "data-viewer-action";

    pub fn as_attr(self) -> Cow<'static, str> {
        match self {
            ViewerAction::ExpandAll => "expand-all".into(),
            ViewerAction::CollapseAll => "collapse-all".into(),
            ViewerAction::ExpandToDepth(depth) => format!("depth-{depth}").into(),
            ViewerAction::ToggleRaw => "toggle-raw".into(),
            ViewerAction::CopyAll => "copy-all".into(),
        }
    }

    pub fn parse(text: &str) -> Option<ViewerAction> {
        Some(match text {
            "expand-all" => ViewerAction::ExpandAll,
            "collapse-all" => ViewerAction::CollapseAll,
            "toggle-raw" => ViewerAction::ToggleRaw,
            "copy-all" => ViewerAction::CopyAll,
            other => ViewerAction::ExpandToDepth(other.strip_prefix("depth-")?.parse().ok()?),
        })
    }

    /// Acts on the tree, so it stays disabled where there is none.
    pub fn needs_tree(self) -> bool {
        matches!(
            self,
            ViewerAction::ExpandAll | ViewerAction::CollapseAll | ViewerAction::ExpandToDepth(_)
        )
    }
}

/// The toolbar as the server renders it: every tool disabled until the
/// island has hydrated (and the tree tools for good where there is no tree).
#[component]
pub fn Toolbar(file_name: String, download: String) -> impl IntoView {
    let tool = |action: ViewerAction, label: &'static str| {
        view! { <button type="button" disabled=true data-viewer-action=action.as_attr()>{label}</button> }
    };
    view! {
        <div class="jt-toolbar" role="toolbar" aria-label="JSON viewer tools">
            {tool(ViewerAction::ExpandAll, "Expand all")}
            {tool(ViewerAction::CollapseAll, "Collapse all")}
            <span class="jt-depth" role="group" aria-label="Expand to depth">
                "Depth "
                {tool(ViewerAction::ExpandToDepth(1), "1")}
                {tool(ViewerAction::ExpandToDepth(2), "2")}
                {tool(ViewerAction::ExpandToDepth(3), "3")}
            </span>
            <button type="button" disabled=true aria-pressed="false"
                data-viewer-action=ViewerAction::ToggleRaw.as_attr()>{dom::RAW_VIEW}</button>
            {tool(ViewerAction::CopyAll, "Copy all")}
            <a class="button" href=download download=file_name>"Download"</a>
            <label class="jt-filter">
                <span class="visually-hidden">"Filter keys and values"</span>
                <input type="search" placeholder="Filter keys and values" disabled=true/>
            </label>
            <span class="jt-status" role="status" aria-live="polite"></span>
        </div>
    }
}

/// The viewer's behaviour. It works on the server-rendered toolbar and tree
/// it wraps and takes no props: it never receives the document, so the JSON
/// is in the page once, and it needs no serde_json in the browser.
#[island]
pub fn JsonViewerTools(children: Children) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| {
        if let Some(root) = root.get_untracked() {
            dom::enable_tools(&root);
        }
        set_hydrated.set(true);
    });
    view! {
        <div class="jt-viewer" node_ref=root data-hydrated=move || hydrated.get().then_some("true")
            on:click=move |ev| { if let Some(root) = root.get_untracked() { dom::on_click(&root, &ev); } }
            on:keydown=move |ev| { if let Some(root) = root.get_untracked() { dom::on_keydown(&root, &ev); } }
            on:input=move |ev| { if let Some(root) = root.get_untracked() { dom::on_input(&root, &ev); } }
        >
            {children()}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::ViewerAction;

    #[test]
    fn viewer_actions_round_trip_through_their_attributes() {
        for action in [
            ViewerAction::ExpandAll,
            ViewerAction::CollapseAll,
            ViewerAction::ExpandToDepth(1),
            ViewerAction::ExpandToDepth(12),
            ViewerAction::ToggleRaw,
            ViewerAction::CopyAll,
        ] {
            assert_eq!(ViewerAction::parse(&action.as_attr()), Some(action));
        }
        assert_eq!(ViewerAction::parse("depth-"), None);
        assert_eq!(ViewerAction::parse("expand"), None);
    }
}
