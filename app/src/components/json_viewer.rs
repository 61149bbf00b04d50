//! ReadOnlyJsonViewer: a server-rendered, collapsible JSON tree with a raw
//! view, made interactive by the `JsonViewerTools` island.
//!
//! The tree is plain `<details>`/`<summary>` HTML, so it is readable and
//! collapsible before (or without) any WASM. It is rendered as one escaped
//! HTML string rather than as thousands of Leptos views: documents reach
//! megabytes, and string building is an order of magnitude cheaper.
//! Nothing here can change data: the only input is the filter box.

use leptos::prelude::*;
use regen_domain::json_tree::{buckets, human_size, pointer_push, JsonNode, JsonValue};
use regen_domain::JsonText;

/// Children shown before the rest is folded into "show more" buckets.
pub const BUCKET_SIZE: usize = 100;
/// Strings longer than this (in characters) are cut, with the rest folded.
pub const STRING_CUT: usize = 300;
/// Levels open by default.
pub const OPEN_DEPTH: usize = 2;
/// Above this size the tree is not rendered; raw and download come first.
pub const TREE_LIMIT_BYTES: usize = 2 * 1024 * 1024;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The document as the content of a `<pre>`, such that the browser's text
/// of the element is exactly the stored text: the HTML parser drops a
/// newline right after `<pre>` and turns CR into LF, so a newline is put
/// first and every CR is written as a character reference.
pub fn raw_pre_html(doc: &JsonText) -> String {
    let mut out = String::with_capacity(doc.len() + 16);
    out.push('\n');
    for piece in doc.as_str().split_inclusive('\r') {
        match piece.strip_suffix('\r') {
            Some(text) => {
                escape_html(text, &mut out);
                out.push_str("&#13;");
            }
            None => escape_html(piece, &mut out),
        }
    }
    out
}

/// The tree as HTML, or `None` when the document is too large for a tree.
pub fn render_tree_html(doc: &JsonText, label: &str) -> Option<String> {
    if doc.len() > TREE_LIMIT_BYTES {
        return None;
    }
    let root = JsonNode::parse(doc.as_str()).ok()?;
    let mut out = String::with_capacity(doc.len() * 4);
    out.push_str("<ul class=\"jt\" role=\"tree\" aria-label=\"");
    escape_html(label, &mut out);
    out.push_str("\">");
    render_node(&root, Label::Root, "", 1, &mut out);
    out.push_str("</ul>");
    // The first row is the tree's one tab stop; arrows move from there.
    Some(out.replacen(
        "class=\"jt-row\" tabindex=\"-1\"",
        "class=\"jt-row\" tabindex=\"0\"",
        1,
    ))
}

/// What a node is called in its parent.
#[derive(Clone, Copy)]
enum Label<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

fn render_key(label: Label, out: &mut String) {
    match label {
        Label::Key(key) => {
            out.push_str("<span class=\"jt-key\">");
            escape_html(&serde_json::to_string(key).unwrap_or_default(), out);
            out.push_str("</span><span class=\"jt-colon\">: </span>");
        }
        Label::Index(index) => {
            out.push_str(&format!(
                "<span class=\"jt-key jt-index\">{index}</span><span class=\"jt-colon\">: </span>"
            ));
        }
        Label::Root => out.push_str(
            "<span class=\"jt-key jt-root\">root</span><span class=\"jt-colon\"> </span>",
        ),
    }
}

fn render_actions(path: &str, out: &mut String) {
    let shown = if path.is_empty() { "(root)" } else { path };
    out.push_str("<span class=\"jt-actions\"><button type=\"button\" class=\"jt-act\" data-act=\"path\" tabindex=\"-1\" title=\"Copy path ");
    escape_html(shown, out);
    out.push_str("\">path</button><button type=\"button\" class=\"jt-act\" data-act=\"value\" tabindex=\"-1\" title=\"Copy value\">value</button></span>");
}

fn item_open(path: &str, level: usize, node: &JsonNode, expanded: Option<bool>, out: &mut String) {
    out.push_str("<li role=\"treeitem\" aria-level=\"");
    out.push_str(&level.to_string());
    out.push('"');
    if let Some(expanded) = expanded {
        out.push_str(if expanded {
            " aria-expanded=\"true\""
        } else {
            " aria-expanded=\"false\""
        });
    }
    out.push_str(" data-path=\"");
    escape_html(path, out);
    out.push_str("\" data-span=\"");
    out.push_str(&format!("{}:{}", node.span.start, node.span.end));
    out.push_str("\">");
}

fn render_node(node: &JsonNode, label: Label, path: &str, level: usize, out: &mut String) {
    let children: Vec<(String, &JsonNode)> = match &node.value {
        JsonValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (i.to_string(), n))
            .collect(),
        JsonValue::Object(members) => members.iter().map(|(k, n)| (k.clone(), n)).collect(),
        scalar => {
            item_open(path, level, node, None, out);
            out.push_str("<div class=\"jt-row\" tabindex=\"-1\">");
            render_key(label, out);
            render_scalar(scalar, out);
            render_actions(path, out);
            out.push_str("</div></li>");
            return;
        }
    };
    let is_array = matches!(node.value, JsonValue::Array(_));
    let (open_brace, close_brace) = if is_array { ("[", "]") } else { ("{", "}") };
    if children.is_empty() {
        item_open(path, level, node, None, out);
        out.push_str("<div class=\"jt-row\" tabindex=\"-1\">");
        render_key(label, out);
        out.push_str(&format!(
            "<span class=\"jt-punct\">{open_brace}{close_brace}</span>"
        ));
        render_actions(path, out);
        out.push_str("</div></li>");
        return;
    }
    let open = level <= OPEN_DEPTH;
    item_open(path, level, node, Some(open), out);
    out.push_str(if open { "<details open>" } else { "<details>" });
    out.push_str("<summary class=\"jt-row\" tabindex=\"-1\">");
    render_key(label, out);
    let count = children.len();
    let noun = match (is_array, count) {
        (true, 1) => "item",
        (true, _) => "items",
        (false, 1) => "key",
        (false, _) => "keys",
    };
    out.push_str(&format!(
        "<span class=\"jt-punct\">{open_brace}</span><span class=\"jt-count\">{count} {noun}</span><span class=\"jt-punct\">{close_brace}</span>"
    ));
    render_actions(path, out);
    out.push_str("</summary><ul role=\"group\">");
    for (bucket_index, (start, end)) in buckets(count, BUCKET_SIZE).enumerate() {
        let folded = bucket_index > 0;
        if folded {
            out.push_str(&format!(
                "<li class=\"jt-bucket\" role=\"none\"><details><summary>Show {start}–{} of {count}</summary><ul role=\"group\">",
                end - 1
            ));
        }
        for (child_key, child) in &children[start..end] {
            let child_path = pointer_push(path, child_key);
            let child_label = if is_array {
                Label::Index(child_key.parse().unwrap_or_default())
            } else {
                Label::Key(child_key)
            };
            render_node(child, child_label, &child_path, level + 1, out);
        }
        if folded {
            out.push_str("</ul></details></li>");
        }
    }
    out.push_str("</ul></details></li>");
}

fn render_scalar(value: &JsonValue, out: &mut String) {
    let class = match value {
        JsonValue::String(_) => "jt-str",
        JsonValue::Number(_) => "jt-num",
        JsonValue::Bool(_) => "jt-bool",
        _ => "jt-null",
    };
    let text = value.scalar_text().unwrap_or_default();
    out.push_str(&format!("<span class=\"{class}\">"));
    let chars = text.chars().count();
    if chars > STRING_CUT {
        let cut: String = text.chars().take(STRING_CUT).collect();
        let rest: String = text.chars().skip(STRING_CUT).collect();
        escape_html(&cut, out);
        out.push_str(&format!(
            "</span><details class=\"jt-more\"><summary>show {} more characters</summary><span class=\"{class}\">",
            chars - STRING_CUT
        ));
        escape_html(&rest, out);
        out.push_str("</span></details>");
    } else {
        escape_html(&text, out);
        out.push_str("</span>");
    }
}

/// One JSON field of a job: heading, size, toolbar island, tree and raw view.
#[component]
pub fn JsonViewer(
    title: &'static str,
    field: &'static str,
    job_id: String,
    doc: JsonText,
) -> impl IntoView {
    let size = human_size(doc.len());
    let heading_id = format!("{field}-heading");
    let labelled_by = heading_id.clone();
    let file_name = format!("regeneration-job-{job_id}-{field}.json");
    // A plain link: works without JavaScript and serves the stored bytes.
    let download = format!("/admin/regeneration-jobs/{job_id}/download/{field}");
    let raw = raw_pre_html(&doc);
    let tree = render_tree_html(&doc, title);
    let too_big = tree.is_none();
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
            <JsonViewerTools file_name download has_tree=!too_big>
                {tree_view}
                // Hidden until asked for: laying out megabytes of text is what
                // makes large documents slow, not parsing them.
                <pre class="jt-raw" hidden=true tabindex="0" inner_html=raw></pre>
            </JsonViewerTools>
        </section>
    }
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

    let act = move |action: &'static str| {
        move |_| {
            if let Some(root) = root.get_untracked() {
                tools::run(&root, action, set_status, set_raw);
            }
        }
    };
    view! {
        <div class="jt-viewer" node_ref=root data-hydrated=move || hydrated.get().then_some("true")
            on:click=move |ev| { if let Some(root) = root.get_untracked() { tools::on_click(&root, &ev, set_status); } }
            on:keydown=move |ev| { if let Some(root) = root.get_untracked() { tools::on_keydown(&root, &ev); } }
        >
            <div class="jt-toolbar" role="toolbar" aria-label="JSON viewer tools">
                <button type="button" disabled=tree_tools_off on:click=act("expand")>"Expand all"</button>
                <button type="button" disabled=tree_tools_off on:click=act("collapse")>"Collapse all"</button>
                <span class="jt-depth" role="group" aria-label="Expand to depth">
                    "Depth "
                    <button type="button" disabled=tree_tools_off on:click=act("depth1")>"1"</button>
                    <button type="button" disabled=tree_tools_off on:click=act("depth2")>"2"</button>
                    <button type="button" disabled=tree_tools_off on:click=act("depth3")>"3"</button>
                </span>
                <button type="button" aria-pressed=move || raw.get().to_string() disabled=move || !hydrated.get() on:click=act("raw")>
                    {move || match (raw.get(), has_tree) {
                        (false, _) => "Raw view",
                        (true, true) => "Tree view",
                        (true, false) => "Hide raw view",
                    }}
                </button>
                <button type="button" disabled=move || !hydrated.get() on:click=act("copy")>"Copy all"</button>
                <a class="button" href=download download=file_name>"Download"</a>
                <label class="jt-filter">
                    <span class="visually-hidden">"Filter keys and values"</span>
                    <input type="search" placeholder="Filter keys and values" disabled=tree_tools_off
                        on:input=move |ev| { if let Some(root) = root.get_untracked() { tools::filter(&root, &event_target_value(&ev), set_status); } }/>
                </label>
                <span class="jt-status" role="status" aria-live="polite">{move || status.get()}</span>
            </div>
            {children()}
        </div>
    }
}

#[cfg(not(feature = "hydrate"))]
mod tools {
    //! The server never runs event handlers; these keep the island's code
    //! identical on both sides.
    use leptos::prelude::*;
    use leptos::web_sys::HtmlDivElement;

    pub fn run(_: &HtmlDivElement, _: &str, _: WriteSignal<String>, _: WriteSignal<bool>) {}
    pub fn on_click(_: &HtmlDivElement, _: &leptos::ev::MouseEvent, _: WriteSignal<String>) {}
    pub fn on_keydown(_: &HtmlDivElement, _: &leptos::ev::KeyboardEvent) {}
    pub fn filter(_: &HtmlDivElement, _: &str, _: WriteSignal<String>) {}
}

#[cfg(feature = "hydrate")]
mod tools {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlDivElement, HtmlElement};

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

    fn open_in_batches(nodes: Vec<Element>, open: bool, status: WriteSignal<String>) {
        let generation = GENERATION.with(|g| {
            g.set(g.get().wrapping_add(1));
            g.get()
        });
        if nodes.len() <= BATCH {
            nodes.iter().for_each(|d| set_open(d, open));
            return;
        }
        let verb = if open { "Expanded" } else { "Collapsed" };
        leptos::task::spawn_local(async move {
            let total = nodes.len();
            for (i, chunk) in nodes.chunks(BATCH).enumerate() {
                if GENERATION.with(|g| g.get()) != generation {
                    return;
                }
                chunk.iter().for_each(|d| set_open(d, open));
                status.set(format!(
                    "{verb} {} of {total} nodes…",
                    ((i + 1) * BATCH).min(total)
                ));
                next_frame().await;
            }
            status.set(format!("{verb} {total} nodes"));
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

    pub fn run(
        root: &HtmlDivElement,
        action: &str,
        status: WriteSignal<String>,
        raw: WriteSignal<bool>,
    ) {
        let tree_details = ".jt-tree li[role=treeitem] > details";
        // Everything but the "show more characters" folds of long strings.
        let all_details = ".jt-tree details:not(.jt-more)";
        match action {
            "expand" => open_in_batches(all(root, all_details), true, status),
            "collapse" => open_in_batches(all(root, all_details), false, status),
            "depth1" | "depth2" | "depth3" => {
                let depth: usize = action[5..].parse().unwrap_or(1);
                for details in all(root, tree_details) {
                    let level = details
                        .parent_element()
                        .and_then(|li| li.get_attribute("aria-level"))
                        .and_then(|l| l.parse::<usize>().ok())
                        .unwrap_or(1);
                    set_open(&details, level <= depth);
                }
            }
            "raw" => {
                let tree = root.query_selector(".jt-tree").ok().flatten();
                let pre = root.query_selector(".jt-raw").ok().flatten();
                if let (Some(pre), tree) = (pre, tree) {
                    let show_raw = pre.has_attribute("hidden");
                    let _ = if show_raw {
                        pre.remove_attribute("hidden")
                    } else {
                        pre.set_attribute("hidden", "")
                    };
                    if let Some(tree) = tree {
                        let _ = if show_raw {
                            tree.set_attribute("hidden", "")
                        } else {
                            tree.remove_attribute("hidden")
                        };
                    }
                    raw.set(show_raw);
                }
            }
            "copy" => copy(root, raw_text(root), "Document copied", status),
            _ => {}
        }
    }

    pub fn on_click(
        root: &HtmlDivElement,
        ev: &leptos::ev::MouseEvent,
        status: WriteSignal<String>,
    ) {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Some(action) = target.get_attribute("data-act") else {
            return;
        };
        // A button inside <summary> must not also toggle the node.
        ev.prevent_default();
        let Ok(Some(item)) = target.closest("li[role=treeitem]") else {
            return;
        };
        match action.as_str() {
            "path" => {
                let path = item.get_attribute("data-path").unwrap_or_default();
                copy(
                    root,
                    path.clone(),
                    &format!(
                        "Path copied: {}",
                        if path.is_empty() { "(root)" } else { &path }
                    ),
                    status,
                );
            }
            "value" => {
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
                copy(root, value, "Value copied", status);
            }
            _ => {}
        }
    }

    fn copy(root: &HtmlDivElement, text: String, done: &str, status: WriteSignal<String>) {
        let clipboard = window().navigator().clipboard();
        let done = done.to_owned();
        let root = root.clone();
        leptos::task::spawn_local(async move {
            let promise = clipboard.write_text(&text);
            match wasm_bindgen_futures::JsFuture::from(promise).await {
                Ok(_) => status.set(done),
                Err(_) => status.set(fallback_copy(&root, &text, &done)),
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

    pub fn filter(root: &HtmlDivElement, needle: &str, status: WriteSignal<String>) {
        let needle = needle.trim().to_lowercase();
        let items = all(root, ".jt-tree li[role=treeitem]");
        for item in &items {
            let _ = item.class_list().remove_2("jt-hit", "jt-hidden");
        }
        if needle.is_empty() {
            status.set(String::new());
            return;
        }
        for item in &items {
            let _ = item.class_list().add_1("jt-hidden");
        }
        let mut hits = 0;
        for item in &items {
            let own = item
                .query_selector(":scope > .jt-row, :scope > details > summary")
                .ok()
                .flatten()
                .and_then(|row| row.text_content())
                .unwrap_or_default()
                .to_lowercase();
            let own = own.trim_end_matches("pathvalue");
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
        status.set(format!(
            "{hits} matching node{}",
            if hits == 1 { "" } else { "s" }
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        render_tree_html(&JsonText::parse(text).unwrap(), "doc").unwrap()
    }

    #[test]
    fn keys_and_values_are_escaped() {
        let out =
            html(r#"{"</script><b>":"<img src=x onerror=alert(1)>","j":"javascript:alert(1)"}"#);
        assert!(!out.contains("<script") && !out.contains("<img") && !out.contains("<b>"));
        assert!(out.contains("&lt;/script&gt;&lt;b&gt;"));
        assert!(!out.contains("href="));
    }

    #[test]
    fn nodes_carry_json_pointers_levels_and_exact_spans() {
        let text = r#"{"a/b":[1,{"c~d":2.50}]}"#;
        let out = html(text);
        assert!(out.contains(r#"data-path="/a~1b/1/c~0d""#));
        assert!(out.contains(r#"aria-level="3""#));
        assert!(out.contains(r#"<span class="jt-num">2.50</span>"#));
        // The span of /a~1b is the array's exact text.
        let start = text.find('[').unwrap();
        let end = text.rfind(']').unwrap() + 1;
        assert!(out.contains(&format!(r#"data-path="/a~1b" data-span="{start}:{end}""#)));
    }

    #[test]
    fn large_arrays_are_bucketed_and_long_strings_cut() {
        let items: Vec<String> = (0..250).map(|i| i.to_string()).collect();
        let long = "x".repeat(STRING_CUT + 10);
        let out = html(&format!(
            r#"{{"items":[{}],"long":"{long}"}}"#,
            items.join(",")
        ));
        assert_eq!(out.matches("class=\"jt-bucket\"").count(), 2);
        assert!(out.contains("Show 100–199 of 250"));
        // The cut counts the quotes of the JSON string literal too.
        assert!(out.contains("show 12 more characters"));
    }

    #[test]
    fn only_the_first_levels_start_open_and_one_row_is_tabbable() {
        let out = html(r#"{"a":{"b":{"c":1}}}"#);
        assert_eq!(out.matches("<details open>").count(), 2);
        assert_eq!(out.matches("tabindex=\"0\"").count(), 1);
    }

    #[test]
    fn the_raw_view_survives_the_html_parser_byte_for_byte() {
        let doc = JsonText::parse("\r\n{\"a\":\"<b>&\"}\r\n").unwrap();
        let html = raw_pre_html(&doc);
        // A leading newline for the parser to eat, CR as a reference, markup escaped.
        assert_eq!(
            html,
            "\n&#13;\n{&quot;a&quot;:&quot;&lt;b&gt;&amp;&quot;}&#13;\n"
        );
    }

    #[test]
    fn documents_over_the_limit_get_no_tree() {
        let big = format!("\"{}\"", "x".repeat(TREE_LIMIT_BYTES));
        assert!(render_tree_html(&JsonText::parse(big).unwrap(), "doc").is_none());
    }

    #[test]
    fn the_viewer_has_no_editing_surface() {
        let out = html(r#"{"a":[1,2,{"b":"c"}]}"#);
        for forbidden in [
            "<input",
            "<textarea",
            "contenteditable",
            "<form",
            "onclick",
            "<a ",
        ] {
            assert!(!out.contains(forbidden), "{forbidden}");
        }
    }
}
