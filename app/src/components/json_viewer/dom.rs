//! The browser side of the viewer's tools: they act on the server-rendered
//! toolbar and tree through the attributes [`ViewerAction`] and
//! `regen_domain::json_html` write, and report in the toolbar's status line.
//! The server never runs event handlers, so there these are no-ops with the
//! same signatures.

/// The raw-view toggle's label while the tree (or nothing) is shown.
pub const RAW_VIEW: &str = "Raw view";

#[cfg(not(feature = "hydrate"))]
mod server {
    use leptos::web_sys::HtmlDivElement;

    pub fn enable_tools(_: &HtmlDivElement) {}
    pub fn on_click(_: &HtmlDivElement, _: &leptos::ev::MouseEvent) {}
    pub fn on_keydown(_: &HtmlDivElement, _: &leptos::ev::KeyboardEvent) {}
    pub fn on_input(_: &HtmlDivElement, _: &leptos::ev::Event) {}
}

#[cfg(not(feature = "hydrate"))]
pub use server::*;

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use regen_domain::json_html::{NodeAction, ROOT_POINTER_LABEL};
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlDivElement, HtmlElement, HtmlInputElement};

    use super::super::ViewerAction;
    use super::RAW_VIEW;

    /// Writes the toolbar's status line (announced by screen readers).
    fn say(root: &Element, text: &str) {
        if let Ok(Some(status)) = root.query_selector(".jt-status") {
            status.set_text_content(Some(text));
        }
    }

    /// Unicode-aware lower case from the browser, not from Rust's tables.
    fn lower(text: &str) -> String {
        js_sys::JsString::from(text).to_lower_case().into()
    }

    /// Once hydrated: every tool works, except the tree's where there is none.
    pub fn enable_tools(root: &HtmlDivElement) {
        let has_tree = root.query_selector(".jt-tree").ok().flatten().is_some();
        for button in all(root, &format!(".jt-toolbar [{}]", ViewerAction::ATTRIBUTE)) {
            let needs_tree = button
                .get_attribute(ViewerAction::ATTRIBUTE)
                .and_then(|a| ViewerAction::parse(&a))
                .is_none_or(ViewerAction::needs_tree);
            if has_tree || !needs_tree {
                let _ = button.remove_attribute("disabled");
            }
        }
        if has_tree {
            for input in all(root, ".jt-filter input") {
                let _ = input.remove_attribute("disabled");
            }
        }
    }

    fn all(root: &Element, selector: &str) -> Vec<Element> {
        let Ok(list) = root.query_selector_all(selector) else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i).and_then(|n| n.dyn_into::<Element>().ok()))
            .collect()
    }

    fn set_open(details: &Element, open: bool) {
        if open {
            let _ = details.set_attribute("open", "");
        } else {
            let _ = details.remove_attribute("open");
        }
        if let Some(item) = details.parent_element() {
            if item.get_attribute("role").as_deref() == Some("treeitem") {
                let _ = item.set_attribute("aria-expanded", if open { "true" } else { "false" });
            }
        }
    }

    thread_local! {
        /// Bumped by every expand/collapse, so a newer one stops an older one.
        static GENERATION: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }

    /// Nodes opened (or closed) per frame: small enough that each frame's
    /// layout stays short, so expanding tens of thousands of nodes never
    /// freezes the page.
    const BATCH: usize = 400;

    fn open_in_batches(root: &Element, nodes: Vec<Element>, open: bool) {
        let generation = GENERATION.with(|g| {
            g.set(g.get().wrapping_add(1));
            g.get()
        });
        if nodes.len() <= BATCH {
            nodes.iter().for_each(|d| set_open(d, open));
            return;
        }
        let verb = if open { "Expanded" } else { "Collapsed" };
        let root = root.clone();
        leptos::task::spawn_local(async move {
            let total = nodes.len();
            for (i, chunk) in nodes.chunks(BATCH).enumerate() {
                if GENERATION.with(|g| g.get()) != generation {
                    return;
                }
                chunk.iter().for_each(|d| set_open(d, open));
                say(
                    &root,
                    &format!("{verb} {} of {total} nodes…", ((i + 1) * BATCH).min(total)),
                );
                next_frame().await;
            }
            say(&root, &format!("{verb} {total} nodes"));
        });
    }

    async fn next_frame() {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = window().request_animation_frame(&resolve);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    fn raw_text(root: &Element) -> String {
        root.query_selector(".jt-raw")
            .ok()
            .flatten()
            .and_then(|pre| pre.text_content())
            .unwrap_or_default()
    }

    fn run(root: &HtmlDivElement, action: ViewerAction, button: &Element) {
        let tree_details = ".jt-tree li[role=treeitem] > details";
        // Everything but the "show more characters" folds of long strings.
        let all_details = ".jt-tree details:not(.jt-more)";
        match action {
            ViewerAction::ExpandAll => open_in_batches(root, all(root, all_details), true),
            ViewerAction::CollapseAll => open_in_batches(root, all(root, all_details), false),
            ViewerAction::ExpandToDepth(depth) => {
                for details in all(root, tree_details) {
                    let level = details
                        .parent_element()
                        .and_then(|li| li.get_attribute("aria-level"))
                        .and_then(|l| l.parse::<usize>().ok())
                        .unwrap_or(1);
                    set_open(&details, level <= depth);
                }
            }
            ViewerAction::ToggleRaw => {
                let tree = root.query_selector(".jt-tree").ok().flatten();
                let pre = root.query_selector(".jt-raw").ok().flatten();
                if let (Some(pre), tree) = (pre, tree) {
                    let show_raw = pre.has_attribute("hidden");
                    let _ = if show_raw {
                        pre.remove_attribute("hidden")
                    } else {
                        pre.set_attribute("hidden", "")
                    };
                    let label = match (show_raw, &tree) {
                        (false, _) => RAW_VIEW,
                        (true, Some(_)) => "Tree view",
                        (true, None) => "Hide raw view",
                    };
                    if let Some(tree) = tree {
                        let _ = if show_raw {
                            tree.set_attribute("hidden", "")
                        } else {
                            tree.remove_attribute("hidden")
                        };
                    }
                    let _ = button
                        .set_attribute("aria-pressed", if show_raw { "true" } else { "false" });
                    button.set_text_content(Some(label));
                }
            }
            ViewerAction::CopyAll => copy(root, raw_text(root), "Document copied"),
        }
    }

    pub fn on_click(root: &HtmlDivElement, ev: &leptos::ev::MouseEvent) {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let tool = target
            .closest(&format!("[{}]", ViewerAction::ATTRIBUTE))
            .ok()
            .flatten();
        if let Some(button) = tool {
            if let Some(action) = button
                .get_attribute(ViewerAction::ATTRIBUTE)
                .and_then(|a| ViewerAction::parse(&a))
            {
                run(root, action, &button);
            }
            return;
        }
        let Some(action) = target
            .get_attribute(NodeAction::ATTRIBUTE)
            .and_then(|a| NodeAction::parse(&a))
        else {
            return;
        };
        // A button inside <summary> must not also toggle the node.
        ev.prevent_default();
        let Ok(Some(item)) = target.closest("li[role=treeitem]") else {
            return;
        };
        match action {
            NodeAction::CopyPath => {
                let path = item.get_attribute("data-path").unwrap_or_default();
                let shown = if path.is_empty() {
                    ROOT_POINTER_LABEL
                } else {
                    &path
                };
                let done = format!("Path copied: {shown}");
                copy(root, path.clone(), &done);
            }
            NodeAction::CopyValue => {
                let span = item.get_attribute("data-span").unwrap_or_default();
                let (start, end) = span.split_once(':').unwrap_or(("0", "0"));
                let (start, end) = (start.parse().unwrap_or(0), end.parse().unwrap_or(0));
                // Spans are UTF-8 byte offsets into the stored document.
                let raw = raw_text(root);
                let value = raw
                    .as_bytes()
                    .get(start..end)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .unwrap_or("")
                    .to_owned();
                copy(root, value, "Value copied");
            }
        }
    }

    fn copy(root: &HtmlDivElement, text: String, done: &str) {
        let clipboard = window().navigator().clipboard();
        let done = done.to_owned();
        let root = root.clone();
        leptos::task::spawn_local(async move {
            let promise = clipboard.write_text(&text);
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(_) => say(&root, &done),
                Err(_) => say(&root, &fallback_copy(&root, &text, &done)),
            }
        });
    }

    /// Where the Clipboard API is missing or refused (no permission, plain
    /// HTTP on another host), copy through a temporary selection instead.
    fn fallback_copy(root: &HtmlDivElement, text: &str, done: &str) -> String {
        let document = document();
        let Ok(area) = document.create_element("textarea") else {
            return "Copy is not available here: select the raw view and copy it".into();
        };
        // Temporary and detached right after: not an editing surface.
        area.set_text_content(Some(text));
        let _ = area.set_attribute("readonly", "");
        let _ = area.set_attribute("style", "position:fixed;opacity:0");
        let _ = root.append_child(&area);
        if let Some(area) = area.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            area.select();
        }
        let copied = document
            .dyn_ref::<web_sys::HtmlDocument>()
            .and_then(|d| d.exec_command("copy").ok())
            .unwrap_or(false);
        area.remove();
        if copied {
            done.to_owned()
        } else {
            "Copy is not available here: select the raw view and copy it".into()
        }
    }

    /// A row's key and value as text, without its copy buttons' labels.
    fn row_text(row: &Element) -> String {
        let children = row.children();
        (0..children.length())
            .filter_map(|i| children.item(i))
            .filter(|child| !child.class_list().contains("jt-actions"))
            .filter_map(|child| child.text_content())
            .collect()
    }

    /// The filter box: typing in it filters the tree.
    pub fn on_input(root: &HtmlDivElement, ev: &leptos::ev::Event) {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if input.closest(".jt-filter").ok().flatten().is_some() {
            filter(root, &input.value());
        }
    }

    fn filter(root: &HtmlDivElement, needle: &str) {
        let needle = lower(needle.trim());
        let items = all(root, ".jt-tree li[role=treeitem]");
        for item in &items {
            let _ = item.class_list().remove_2("jt-hit", "jt-hidden");
        }
        if needle.is_empty() {
            say(root, "");
            return;
        }
        for item in &items {
            let _ = item.class_list().add_1("jt-hidden");
        }
        let mut hits = 0;
        for item in &items {
            let own = lower(
                &item
                    .query_selector(":scope > .jt-row, :scope > details > summary")
                    .ok()
                    .flatten()
                    .map(|row| row_text(&row))
                    .unwrap_or_default(),
            );
            if own.contains(&needle) {
                hits += 1;
                let _ = item.class_list().add_1("jt-hit");
                // Show the match and the path to it.
                let mut current = Some(item.clone());
                while let Some(node) = current {
                    if node.get_attribute("role").as_deref() == Some("treeitem") {
                        let _ = node.class_list().remove_1("jt-hidden");
                    }
                    if node.tag_name() == "DETAILS" {
                        let _ = node.set_attribute("open", "");
                    }
                    if node.class_list().contains("jt-tree") {
                        break;
                    }
                    current = node.parent_element();
                }
            }
        }
        say(
            root,
            &format!("{hits} matching node{}", if hits == 1 { "" } else { "s" }),
        );
    }

    /// Tree keyboard navigation over the visible rows: arrows, Home/End,
    /// Enter/Space to toggle, `*` to expand siblings.
    pub fn on_keydown(root: &HtmlDivElement, ev: &leptos::ev::KeyboardEvent) {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        if !target.class_list().contains("jt-row") {
            return;
        }
        let rows: Vec<HtmlElement> = all(root, ".jt-tree .jt-row")
            .into_iter()
            .filter_map(|e| e.dyn_into::<HtmlElement>().ok())
            .filter(|e| e.offset_parent().is_some())
            .collect();
        let Some(index) = rows.iter().position(|r| r.is_same_node(Some(&target))) else {
            return;
        };
        let item = target.closest("li[role=treeitem]").ok().flatten();
        let details = item
            .as_ref()
            .and_then(|i| i.query_selector(":scope > details").ok().flatten());
        let is_open = details.as_ref().is_some_and(|d| d.has_attribute("open"));
        let focus = |i: usize| {
            if let Some(row) = rows.get(i) {
                let _ = row.focus();
            }
        };
        match ev.key().as_str() {
            "ArrowDown" => focus((index + 1).min(rows.len().saturating_sub(1))),
            "ArrowUp" => focus(index.saturating_sub(1)),
            "Home" => focus(0),
            "End" => focus(rows.len().saturating_sub(1)),
            "ArrowRight" => match &details {
                Some(d) if !is_open => set_open(d, true),
                Some(_) => focus(index + 1),
                None => return,
            },
            "ArrowLeft" => match &details {
                Some(d) if is_open => set_open(d, false),
                _ => {
                    let parent_row = item
                        .and_then(|i| i.parent_element())
                        .and_then(|g| g.closest("li[role=treeitem]").ok().flatten())
                        .and_then(|p| {
                            p.query_selector(":scope > details > summary")
                                .ok()
                                .flatten()
                        })
                        .and_then(|s| s.dyn_into::<HtmlElement>().ok());
                    if let Some(row) = parent_row {
                        let _ = row.focus();
                    }
                }
            },
            "Enter" | " " => match &details {
                Some(d) => set_open(d, !is_open),
                None => return,
            },
            "*" => {
                if let Some(group) = item.and_then(|i| i.parent_element()) {
                    for d in all(&group, ":scope > li[role=treeitem] > details") {
                        set_open(&d, true);
                    }
                }
            }
            _ => return,
        }
        ev.prevent_default();
    }
}

#[cfg(feature = "hydrate")]
pub use browser::*;
