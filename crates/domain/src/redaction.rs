//! Redaction as a view of a stored document: the values a rule hides become
//! the JSON string `"[REDACTED]"`, and every other byte stays as stored (key
//! order, spacing, number spelling, escapes). The document is spliced, never
//! re-serialised, in one pass over its text: linear in its size, no
//! recursion, whatever its depth.
//!
//! Which keys and strings are hidden is the caller's rule ([`RedactionRule`];
//! the server's, with its regular expressions, is `regen-redact`), so this
//! crate, which also runs in the browser, needs no regex engine.
//!
//! A [`JsonText`] is valid JSON, so the scan always succeeds. Should it ever
//! meet text it cannot follow, it hides the whole document rather than echo
//! what it could not read.

use std::borrow::Cow;
use std::ops::Range;

use crate::JsonText;

/// What a hidden value becomes, as JSON text.
pub const REDACTED: &str = "\"[REDACTED]\"";

/// Which values a redaction hides. Both methods get the decoded text: a key
/// spelled `"pass\u0077ord"` is asked about as `password`.
pub trait RedactionRule {
    /// The value of a member with this key is hidden whole, whatever it is.
    fn hides_member(&self, key: &str) -> bool;
    /// This string value (not a key) is hidden.
    fn hides_string(&self, value: &str) -> bool;
    /// False when no string value can be hidden, so that strings need not
    /// be decoded at all.
    fn inspects_strings(&self) -> bool {
        true
    }
}

/// A document as it may leave the server, and where its hidden values are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub doc: JsonText,
    /// The byte spans of `doc` holding a value the rule hid (each
    /// [`REDACTED`]), in document order. A `"[REDACTED]"` that was stored as
    /// such is not among them.
    pub hidden: Vec<Range<usize>>,
}

impl Redacted {
    /// The document as stored: nothing hidden.
    pub fn unchanged(doc: JsonText) -> Redacted {
        Redacted {
            doc,
            hidden: Vec::new(),
        }
    }
}

impl JsonText {
    /// This document with the values `rule` hides replaced by `"[REDACTED]"`.
    /// When nothing is hidden the text is returned as it is, not copied.
    pub fn redact(self, rule: &impl RedactionRule) -> Redacted {
        let mut hidden_in_stored = Vec::new();
        if scan(self.as_str(), rule, &mut hidden_in_stored).is_err() {
            return Redacted {
                doc: JsonText::spliced(REDACTED.to_owned()),
                hidden: vec![Range {
                    start: 0,
                    end: REDACTED.len(),
                }],
            };
        }
        if hidden_in_stored.is_empty() {
            return Redacted::unchanged(self);
        }
        let (text, hidden) = splice(self.as_str(), &hidden_in_stored);
        Redacted {
            doc: JsonText::spliced(text),
            hidden,
        }
    }
}

/// Replaces each span (in order, not overlapping) by [`REDACTED`]; returns
/// the new text and the spans of the replacements in it.
fn splice(text: &str, spans: &[Range<usize>]) -> (String, Vec<Range<usize>>) {
    let removed: usize = spans.iter().map(|s| s.len()).sum();
    let mut out = String::with_capacity(text.len() - removed + spans.len() * REDACTED.len());
    let mut hidden = Vec::with_capacity(spans.len());
    let mut copied = 0;
    for span in spans {
        out.push_str(&text[copied..span.start]);
        hidden.push(out.len()..out.len() + REDACTED.len());
        out.push_str(REDACTED);
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    (out, hidden)
}

/// Text the scan cannot follow as JSON.
#[derive(Debug, PartialEq, Eq)]
struct Malformed;

/// Collects the spans (in `text`) of the values `rule` hides. Containers
/// are tracked on an explicit stack of their closing brackets.
fn scan(
    text: &str,
    rule: &impl RedactionRule,
    hidden: &mut Vec<Range<usize>>,
) -> Result<(), Malformed> {
    let bytes = text.as_bytes();
    let mut open: Vec<u8> = Vec::new();
    let mut pos = 0;
    // Whether the value about to be read belongs to a hidden key.
    let mut hide_next = false;
    loop {
        pos = skip_whitespace(bytes, pos);
        let start = pos;
        if hide_next {
            hide_next = false;
            pos = value_end(bytes, pos)?;
            hidden.push(start..pos);
        } else {
            match bytes.get(pos) {
                Some(b'{') => {
                    pos = skip_whitespace(bytes, pos + 1);
                    if bytes.get(pos) == Some(&b'}') {
                        pos += 1;
                    } else {
                        open.push(b'}');
                        (pos, hide_next) = member_key(text, pos, rule)?;
                        continue;
                    }
                }
                Some(b'[') => {
                    pos = skip_whitespace(bytes, pos + 1);
                    if bytes.get(pos) == Some(&b']') {
                        pos += 1;
                    } else {
                        open.push(b']');
                        continue;
                    }
                }
                Some(b'"') => {
                    pos = string_end(bytes, pos)?;
                    if rule.inspects_strings()
                        && rule.hides_string(&decode(&text[start + 1..pos - 1])?)
                    {
                        hidden.push(start..pos);
                    }
                }
                _ => pos = scalar_end(bytes, pos)?,
            }
        }
        // A value has ended: close the containers it ends, or go on to the
        // next element of the innermost one.
        loop {
            pos = skip_whitespace(bytes, pos);
            let Some(&close) = open.last() else {
                return if pos == bytes.len() {
                    Ok(())
                } else {
                    Err(Malformed)
                };
            };
            match bytes.get(pos) {
                Some(b',') => {
                    pos += 1;
                    if close == b'}' {
                        (pos, hide_next) = member_key(text, pos, rule)?;
                    }
                    break;
                }
                Some(&c) if c == close => {
                    pos += 1;
                    open.pop();
                }
                _ => return Err(Malformed),
            }
        }
    }
}

/// Reads `"key" :` from `pos`; returns where its value starts and whether
/// the rule hides that value.
fn member_key(
    text: &str,
    pos: usize,
    rule: &impl RedactionRule,
) -> Result<(usize, bool), Malformed> {
    let bytes = text.as_bytes();
    let start = skip_whitespace(bytes, pos);
    if bytes.get(start) != Some(&b'"') {
        return Err(Malformed);
    }
    let end = string_end(bytes, start)?;
    let hides = rule.hides_member(&decode(&text[start + 1..end - 1])?);
    let colon = skip_whitespace(bytes, end);
    if bytes.get(colon) != Some(&b':') {
        return Err(Malformed);
    }
    Ok((colon + 1, hides))
}

fn skip_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// The end (past the closing quote) of the string literal opening at `pos`.
fn string_end(bytes: &[u8], pos: usize) -> Result<usize, Malformed> {
    let mut at = pos + 1;
    loop {
        match bytes.get(at) {
            Some(b'"') => return Ok(at + 1),
            Some(b'\\') => at += 2,
            Some(_) => at += 1,
            None => return Err(Malformed),
        }
    }
}

/// The end of a number, `true`, `false` or `null` starting at `pos`. The
/// scan only needs to know where it ends; the stored text was validated.
fn scalar_end(bytes: &[u8], pos: usize) -> Result<usize, Malformed> {
    let mut end = pos;
    while let Some(b'a'..=b'z' | b'0'..=b'9' | b'-' | b'+' | b'.' | b'E') = bytes.get(end) {
        end += 1;
    }
    if end == pos {
        Err(Malformed)
    } else {
        Ok(end)
    }
}

/// The end of the whole value starting at `pos`, nested containers included,
/// without looking inside: a hidden value is not inspected further.
fn value_end(bytes: &[u8], pos: usize) -> Result<usize, Malformed> {
    match bytes.get(pos) {
        Some(b'"') => string_end(bytes, pos),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = pos;
            loop {
                match bytes.get(at) {
                    Some(b'{' | b'[') => depth += 1,
                    Some(b'}' | b']') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(at + 1);
                        }
                    }
                    Some(b'"') => {
                        at = string_end(bytes, at)?;
                        continue;
                    }
                    Some(_) => {}
                    None => return Err(Malformed),
                }
                at += 1;
            }
        }
        _ => scalar_end(bytes, pos),
    }
}

/// The text of a string literal's contents (between its quotes), decoded:
/// borrowed when it has no escapes. A `\u` escape of a lone surrogate
/// decodes to U+FFFD, as it cannot be a character.
fn decode(raw: &str) -> Result<Cow<'_, str>, Malformed> {
    let Some(first) = raw.find('\\') else {
        return Ok(Cow::Borrowed(raw));
    };
    let mut out = String::with_capacity(raw.len());
    out.push_str(&raw[..first]);
    let mut rest = &raw[first..];
    while let Some(escape) = rest.find('\\') {
        out.push_str(&rest[..escape]);
        rest = &rest[escape + 1..];
        let kind = rest.as_bytes().first().ok_or(Malformed)?;
        rest = &rest[1..];
        match kind {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let unit = hex4(rest)?;
                rest = &rest[4..];
                let low = rest.strip_prefix("\\u").and_then(|r| hex4(r).ok());
                let c = match (unit, low) {
                    (0xD800..=0xDBFF, Some(low @ 0xDC00..=0xDFFF)) => {
                        rest = &rest[6..];
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                    }
                    _ => char::from_u32(unit),
                };
                out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            _ => return Err(Malformed),
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn hex4(text: &str) -> Result<u32, Malformed> {
    let digits = text.get(..4).ok_or(Malformed)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Malformed);
    }
    u32::from_str_radix(digits, 16).map_err(|_| Malformed)
}

/// Where the payloads of one job had values hidden, field by field (byte
/// spans of the redacted documents, as [`Redacted::hidden`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HiddenValues {
    pub instruction_json: Vec<Range<usize>>,
    pub output_ref: Vec<Range<usize>>,
    pub error_json: Vec<Range<usize>>,
}

impl HiddenValues {
    /// How many values were hidden in all.
    pub fn count(&self) -> usize {
        self.instruction_json.len() + self.output_ref.len() + self.error_json.len()
    }
}

#[cfg(test)]
#[path = "redaction_tests.rs"]
mod tests;
