//! The viewer's toolbar island and the actions its buttons name.

use leptos::prelude::*;

use super::dom;

/// What a toolbar button asks the viewer to do.
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

/// The viewer's toolbar and behaviour. Works on the server-rendered tree it
/// wraps; it never receives the document as a prop, so the JSON is in the
/// page once, not twice.
#[island]
pub fn JsonViewerTools(
    file_name: String,
    download: String,
    has_tree: bool,
    children: Children,
) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    let (hydrated, set_hydrated) = signal(false);
    let (raw, set_raw) = signal(false);
    // Tree tools wait for hydration, and do not exist without a tree.
    let tree_tools_off = move || !hydrated.get() || !has_tree;
    let (status, set_status) = signal(String::new());
    Effect::new(move |_| set_hydrated.set(true));

    let act = move |action: ViewerAction| {
        move |_| {
            if let Some(root) = root.get_untracked() {
                dom::run(&root, action, set_status, set_raw);
            }
        }
    };
    view! {
        <div class="jt-viewer" node_ref=root data-hydrated=move || hydrated.get().then_some("true")
            on:click=move |ev| { if let Some(root) = root.get_untracked() { dom::on_click(&root, &ev, set_status); } }
            on:keydown=move |ev| { if let Some(root) = root.get_untracked() { dom::on_keydown(&root, &ev); } }
        >
            <div class="jt-toolbar" role="toolbar" aria-label="JSON viewer tools">
                <button type="button" disabled=tree_tools_off on:click=act(ViewerAction::ExpandAll)>"Expand all"</button>
                <button type="button" disabled=tree_tools_off on:click=act(ViewerAction::CollapseAll)>"Collapse all"</button>
                <span class="jt-depth" role="group" aria-label="Expand to depth">
                    "Depth "
                    <button type="button" disabled=tree_tools_off on:click=act(ViewerAction::ExpandToDepth(1))>"1"</button>
                    <button type="button" disabled=tree_tools_off on:click=act(ViewerAction::ExpandToDepth(2))>"2"</button>
                    <button type="button" disabled=tree_tools_off on:click=act(ViewerAction::ExpandToDepth(3))>"3"</button>
                </span>
                <button type="button" aria-pressed=move || raw.get().to_string() disabled=move || !hydrated.get() on:click=act(ViewerAction::ToggleRaw)>
                    {move || match (raw.get(), has_tree) {
                        (false, _) => "Raw view",
                        (true, true) => "Tree view",
                        (true, false) => "Hide raw view",
                    }}
                </button>
                <button type="button" disabled=move || !hydrated.get() on:click=act(ViewerAction::CopyAll)>"Copy all"</button>
                <a class="button" href=download download=file_name>"Download"</a>
                <label class="jt-filter">
                    <span class="visually-hidden">"Filter keys and values"</span>
                    <input type="search" placeholder="Filter keys and values" disabled=tree_tools_off
                        on:input=move |ev| { if let Some(root) = root.get_untracked() { dom::filter(&root, &event_target_value(&ev), set_status); } }/>
                </label>
                <span class="jt-status" role="status" aria-live="polite">{move || status.get()}</span>
            </div>
            {children()}
        </div>
    }
}
