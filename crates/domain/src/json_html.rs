//! The JSON viewer's HTML, without Leptos: escaping, the `<details>` tree
//! with its pointers and byte spans, bucketing of long arrays and cutting of
//! long strings, the marks on values redaction hid, and the exact raw view.
//! The server renders it into pages; the browser's viewer tools read the
//! attributes it writes.
//!
//! The tree is one escaped HTML string rather than thousands of views:
//! documents reach megabytes, and string building is an order of magnitude
//! cheaper. Nothing it writes can change data: no inputs, links or forms.

use std::ops::Range;

use crate::json_tree::{buckets, pointer_push, JsonNode, JsonValue};
use crate::JsonText;

/// A per-node button of the viewer, written as `data-act` by the renderer
/// and read back by the browser tools: one spelling, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAction {
    CopyPath,
    CopyValue,
}

impl NodeAction {
    pub const ATTRIBUTE: &'static str = "data-act";

    pub fn as_str(self) -> &'static str {
        match self {
            NodeAction::CopyPath => "path",
            NodeAction::CopyValue => "value",
        }
    }

    pub fn parse(text: &str) -> Option<NodeAction> {
        [NodeAction::CopyPath, NodeAction::CopyValue]
            .into_iter()
            .find(|a| a.as_str() == text)
    }
}

/// Children shown before the rest is folded into "show more" buckets.
pub const BUCKET_SIZE: usize = 100;
/// Strings longer than this (in characters) are cut, with the rest folded.
pub const STRING_CUT: usize = 300;
/// Levels open by default.
pub const OPEN_DEPTH: usize = 2;
/// Above this size the tree is not rendered; raw and download come first.
pub const TREE_LIMIT_BYTES: usize = 2 * 1024 * 1024;
/// The class of a node whose value redaction hid.
pub const HIDDEN_CLASS: &str = "redacted";
/// The title of a node whose value redaction hid.
pub const HIDDEN_TITLE: &str = "Value hidden by configuration (redaction)";

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
/// The nodes whose spans are in `hidden` (sorted, as redaction gives them)
/// are marked as hidden by configuration.
pub fn render_tree_html(doc: &JsonText, label: &str, hidden: &[Range<usize>]) -> Option<String> {
    if doc.len() > TREE_LIMIT_BYTES {
        return None;
    }
    let root = JsonNode::parse(doc.as_str()).ok()?;
    let mut out = String::with_capacity(doc.len() * 4);
    out.push_str("<ul class=\"jt\" role=\"tree\" aria-label=\"");
    escape_html(label, &mut out);
    out.push_str("\">");
    render_node(&root, Label::Root, "", 1, hidden, &mut out);
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

/// Shown for the root's JSON Pointer, which is the empty string.
pub const ROOT_POINTER_LABEL: &str = "(root)";

fn render_actions(path: &str, out: &mut String) {
    let shown = if path.is_empty() {
        ROOT_POINTER_LABEL
    } else {
        path
    };
    out.push_str("<span class=\"jt-actions\">");
    for (action, title) in [
        (NodeAction::CopyPath, "Copy path "),
        (NodeAction::CopyValue, "Copy value"),
    ] {
        out.push_str("<button type=\"button\" class=\"jt-act\" ");
        out.push_str(NodeAction::ATTRIBUTE);
        out.push_str("=\"");
        out.push_str(action.as_str());
        out.push_str("\" tabindex=\"-1\" title=\"");
        out.push_str(title);
        if action == NodeAction::CopyPath {
            escape_html(shown, out);
        }
        out.push_str("\">");
        out.push_str(action.as_str());
        out.push_str("</button>");
    }
    out.push_str("</span>");
}

fn item_open(
    path: &str,
    level: usize,
    node: &JsonNode,
    expanded: Option<bool>,
    hidden: bool,
    out: &mut String,
) {
    out.push_str("<li role=\"treeitem\"");
    if hidden {
        out.push_str(" class=\"");
        out.push_str(HIDDEN_CLASS);
        out.push_str("\" title=\"");
        out.push_str(HIDDEN_TITLE);
        out.push('"');
    }
    out.push_str(" aria-level=\"");
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

/// Whether `node` is a value redaction hid (`hidden` sorted by start).
fn is_hidden(node: &JsonNode, hidden: &[Range<usize>]) -> bool {
    hidden
        .binary_search_by_key(&node.span.start, |span| span.start)
        .is_ok_and(|at| hidden[at] == node.span)
}

fn render_node(
    node: &JsonNode,
    label: Label,
    path: &str,
    level: usize,
    hidden_spans: &[Range<usize>],
    out: &mut String,
) {
    let hidden = is_hidden(node, hidden_spans);
    let children: Vec<(String, &JsonNode)> = match &node.value {
        JsonValue::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (i.to_string(), n))
            .collect(),
        JsonValue::Object(members) => members.iter().map(|(k, n)| (k.clone(), n)).collect(),
        scalar => {
            item_open(path, level, node, None, hidden, out);
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
        item_open(path, level, node, None, hidden, out);
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
    item_open(path, level, node, Some(open), hidden, out);
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
            render_node(
                child,
                child_label,
                &child_path,
                level + 1,
                hidden_spans,
                out,
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        render_tree_html(&JsonText::parse(text).unwrap(), "doc", &[]).unwrap()
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
        assert!(render_tree_html(&JsonText::parse(big).unwrap(), "doc", &[]).is_none());
    }

    #[test]
    fn hidden_values_are_marked_and_a_stored_redacted_string_is_not() {
        struct Password;
        impl crate::RedactionRule for Password {
            fn hides_member(&self, key: &str) -> bool {
                key == "password"
            }
            fn hides_string(&self, _: &str) -> bool {
                false
            }
        }
        let stored = r#"{"note":"[REDACTED]","a":[{"password":{"x":1}}],"password":7}"#;
        let shown = JsonText::parse(stored).unwrap().redact(&Password);

        let out = render_tree_html(&shown.doc, "doc", &shown.hidden).unwrap();

        let marked =
            format!(r#"<li role="treeitem" class="{HIDDEN_CLASS}" title="{HIDDEN_TITLE}""#);
        assert_eq!(out.matches(&marked).count(), 2, "{out}");
        for path in ["/a/0/password", "/password"] {
            assert!(
                out.contains(&format!(
                    r#"{marked} aria-level="{}" data-path="{path}""#,
                    path.matches('/').count() + 1
                )),
                "{path}: {out}"
            );
        }
        assert!(out.contains(r#"<li role="treeitem" aria-level="2" data-path="/note""#));
    }

    #[test]
    fn the_viewer_has_no_editing_surface() {
        let out = html(r#"{"a":[1,2,{"b":"c"}]}"#);
        assert_eq!(out.matches("data-act=\"path\"").count(), 6);
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
