//! A JSON tree that keeps every scalar exactly as written, for display.
//!
//! `serde_json::Value` turns numbers into f64/i64 and would show
//! `12345678901234567890123` as `1.2345678901234568e22`; admins must see what
//! is stored. This parser borrows number literals from the source text and
//! keeps object keys in document order (duplicates included).

use std::fmt::Write as _;

/// A value and where its text lies in the document (byte offsets), so that
/// "copy value" can hand out the exact stored bytes of any subtree.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonNode<'a> {
    pub value: JsonValue<'a>,
    pub span: std::ops::Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue<'a> {
    Null,
    Bool(bool),
    /// The number literal exactly as it appears in the document.
    Number(&'a str),
    String(String),
    Array(Vec<JsonNode<'a>>),
    Object(Vec<(String, JsonNode<'a>)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeParseError(pub usize);

impl<'a> JsonNode<'a> {
    /// Parses a document already known to be valid JSON (a [`crate::JsonText`]).
    /// Nesting deeper than `MAX_DEPTH` is refused rather than overflowing the stack.
    pub fn parse(text: &'a str) -> Result<JsonNode<'a>, TreeParseError> {
        let mut parser = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        };
        let node = parser.value(0)?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return Err(TreeParseError(parser.pos));
        }
        Ok(node)
    }
}

impl JsonValue<'_> {
    /// The scalar as JSON text (strings quoted and escaped), for display
    /// and for "copy value".
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            JsonValue::Null => Some("null".into()),
            JsonValue::Bool(b) => Some(b.to_string()),
            JsonValue::Number(n) => Some((*n).to_owned()),
            JsonValue::String(s) => Some(serde_json::to_string(s).expect("strings serialise")),
            _ => None,
        }
    }
}

/// Appends one reference token to a JSON Pointer (RFC 6901).
pub fn pointer_push(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// Splits `count` children into buckets of at most `size`: `(start, end)`.
pub fn buckets(count: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    let size = size.max(1);
    (0..count.div_ceil(size)).map(move |b| (b * size, ((b + 1) * size).min(count)))
}

/// Human-readable byte size: `512 B`, `1.5 KB`, `5.0 MB`.
pub fn human_size(bytes: usize) -> String {
    let mut out = String::new();
    if bytes < 1024 {
        let _ = write!(out, "{bytes} B");
    } else if bytes < 1024 * 1024 {
        let _ = write!(out, "{:.1} KB", bytes as f64 / 1024.0);
    } else {
        let _ = write!(out, "{:.1} MB", bytes as f64 / (1024.0 * 1024.0));
    }
    out
}

const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self) -> Result<T, TreeParseError> {
        Err(TreeParseError(self.pos))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), TreeParseError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.err()
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonNode<'a>, TreeParseError> {
        if depth > MAX_DEPTH {
            return self.err();
        }
        self.skip_ws();
        let start = self.pos;
        let value = self.bare_value(depth)?;
        Ok(JsonNode {
            value,
            span: start..self.pos,
        })
    }

    fn bare_value(&mut self, depth: usize) -> Result<JsonValue<'a>, TreeParseError> {
        match self.bytes.get(self.pos) {
            Some(b'n') => self.literal("null").map(|_| JsonValue::Null),
            Some(b't') => self.literal("true").map(|_| JsonValue::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| JsonValue::Bool(false)),
            Some(b'"') => self.string().map(JsonValue::String),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(JsonValue::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(JsonValue::Array(items));
                        }
                        _ => return self.err(),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(JsonValue::Object(members));
                }
                loop {
                    self.skip_ws();
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return self.err();
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.bytes.get(self.pos) != Some(&b':') {
                        return self.err();
                    }
                    self.pos += 1;
                    members.push((key, self.value(depth + 1)?));
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(JsonValue::Object(members));
                        }
                        _ => return self.err(),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') =
                    self.bytes.get(self.pos)
                {
                    self.pos += 1;
                }
                Ok(JsonValue::Number(&self.text[start..self.pos]))
            }
            _ => self.err(),
        }
    }

    /// A string literal starting at the opening quote, decoded. Escapes are
    /// decoded with serde_json so that surrogate pairs are handled exactly
    /// as everywhere else.
    fn string(&mut self) -> Result<String, TreeParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.bytes.get(self.pos) {
                None => return self.err(),
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let literal = &self.text[start..self.pos];
        if escaped {
            serde_json::from_str(literal).map_err(|_| TreeParseError(start))
        } else {
            Ok(literal[1..literal.len() - 1].to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_exact_text() {
        let tree = JsonNode::parse("[12345678901234567890123, 1.10, -0.0e+10]").unwrap();
        let JsonValue::Array(items) = tree.value else {
            panic!()
        };
        let numbers: Vec<_> = items.iter().map(|n| n.value.clone()).collect();
        assert_eq!(
            numbers,
            vec![
                JsonValue::Number("12345678901234567890123"),
                JsonValue::Number("1.10"),
                JsonValue::Number("-0.0e+10"),
            ]
        );
    }

    #[test]
    fn keys_keep_document_order_and_strings_are_decoded() {
        let tree = JsonNode::parse(r#"{"z":"a\"b\u00e9","a":{"k":null}}"#).unwrap();
        let JsonValue::Object(members) = tree.value else {
            panic!()
        };
        assert_eq!(members[0].0, "z");
        assert_eq!(members[0].1.value, JsonValue::String("a\"bé".into()));
        assert_eq!(members[1].0, "a");
    }

    #[test]
    fn spans_give_the_exact_text_of_every_subtree() {
        let text = r#" { "a" : [1, {"b": 2.50}] } "#;
        let tree = JsonNode::parse(text).unwrap();
        assert_eq!(&text[tree.span.clone()], r#"{ "a" : [1, {"b": 2.50}] }"#);
        let JsonValue::Object(members) = &tree.value else {
            panic!()
        };
        assert_eq!(&text[members[0].1.span.clone()], r#"[1, {"b": 2.50}]"#);
    }

    #[test]
    fn scalar_text_is_valid_json() {
        assert_eq!(
            JsonValue::String("</script>".into()).scalar_text().unwrap(),
            "\"</script>\""
        );
        assert_eq!(JsonValue::Number("1e400").scalar_text().unwrap(), "1e400");
    }

    #[test]
    fn pointers_escape_tilde_and_slash() {
        assert_eq!(pointer_push("", "steps"), "/steps");
        assert_eq!(pointer_push("/steps", "3"), "/steps/3");
        assert_eq!(pointer_push("", "a/b~c"), "/a~1b~0c");
    }

    #[test]
    fn buckets_cover_every_child_once() {
        let all: Vec<_> = buckets(250, 100).collect();
        assert_eq!(all, vec![(0, 100), (100, 200), (200, 250)]);
        assert_eq!(buckets(0, 100).count(), 0);
    }

    #[test]
    fn trailing_garbage_and_deep_nesting_are_refused() {
        assert!(JsonNode::parse("{} x").is_err());
        let deep = "[".repeat(600) + &"]".repeat(600);
        assert!(JsonNode::parse(&deep).is_err());
    }
}
