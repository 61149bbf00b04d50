//! Which values of a job's payloads are hidden whenever they leave the
//! server: the value of every member whose key is in `REGEN_REDACT_KEYS`
//! (in any case, at any depth, inside arrays too), and every string value
//! that one of `REGEN_REDACT_VALUE_PATTERNS` matches. The splice itself is
//! `regen_domain`'s (`JsonText::redact`); this crate holds the rule and its
//! regular expressions, which are kept out of the browser's build.

#![forbid(unsafe_code)]

use std::str::FromStr;

use regen_domain::{JsonText, Redacted, RedactionRule};
use regex::RegexSet;

/// Object keys whose values are hidden, compared in lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactKeys(Vec<String>);

impl RedactKeys {
    /// Whether a decoded key is one of these, in any case.
    fn contain(&self, key: &str) -> bool {
        if key.is_ascii() {
            // Each kept key is in lower case already: no allocation for the
            // common key.
            self.0.iter().any(|kept| kept.eq_ignore_ascii_case(key))
        } else {
            let key = key.to_lowercase();
            self.0.contains(&key)
        }
    }
}

/// A comma-separated list of key names; spaces around each and empty
/// entries are ignored.
impl FromStr for RedactKeys {
    type Err = String;

    fn from_str(text: &str) -> Result<RedactKeys, String> {
        let mut keys: Vec<String> = Vec::new();
        for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let key = key.to_lowercase();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Ok(RedactKeys(keys))
    }
}

/// Regular expressions (the `regex` crate's syntax); a string value any of
/// them matches (anywhere in it, unless anchored) is hidden.
#[derive(Debug, Clone, Default)]
pub struct ValuePatterns {
    sources: Vec<String>,
    set: Option<RegexSet>,
}

impl ValuePatterns {
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    fn is_match(&self, value: &str) -> bool {
        self.set.as_ref().is_some_and(|set| set.is_match(value))
    }
}

/// Patterns separated by commas. A comma inside brackets, braces or
/// parentheses (`[,;]`, `{2,8}`, `(a,b)`) belongs to its pattern; elsewhere
/// it is written `\,`, which the regex reads as a comma. Spaces around each
/// pattern and empty entries are ignored. An invalid pattern is refused in
/// one line naming it.
impl FromStr for ValuePatterns {
    type Err = String;

    fn from_str(text: &str) -> Result<ValuePatterns, String> {
        let sources: Vec<String> = split_patterns(text)
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        // Each alone first, so that the refusal names the pattern at fault.
        for source in &sources {
            if let Err(error) = regex::Regex::new(source) {
                return Err(format!(
                    "has an invalid pattern {source:?}: {}",
                    one_line(&error)
                ));
            }
        }
        if sources.is_empty() {
            return Ok(ValuePatterns::default());
        }
        let set = RegexSet::new(&sources)
            .map_err(|error| format!("cannot use these patterns together: {}", one_line(&error)))?;
        Ok(ValuePatterns {
            sources,
            set: Some(set),
        })
    }
}

/// The regex crate explains a syntax error over several lines, with the
/// pattern and a caret; its last line says what is wrong.
fn one_line(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_owned()
}

/// Splits at the commas that are not escaped and not inside `[]`, `{}` or
/// `()`.
fn split_patterns(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut class_depth = 0usize;
    let mut group_depth = 0usize;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => class_depth += 1,
            ']' => class_depth = class_depth.saturating_sub(1),
            '(' | '{' if class_depth == 0 => group_depth += 1,
            ')' | '}' if class_depth == 0 => group_depth = group_depth.saturating_sub(1),
            ',' if class_depth == 0 && group_depth == 0 => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The configured rule. The default hides nothing.
#[derive(Debug, Clone, Default)]
pub struct Redaction {
    keys: RedactKeys,
    patterns: ValuePatterns,
}

impl Redaction {
    pub fn new(keys: RedactKeys, patterns: ValuePatterns) -> Redaction {
        Redaction { keys, patterns }
    }

    /// Nothing is configured, so nothing is ever hidden.
    pub fn is_off(&self) -> bool {
        self.keys.0.is_empty() && self.patterns.set.is_none()
    }

    /// `doc` as it may leave the server. Without configuration the document
    /// is not even scanned.
    pub fn apply(&self, doc: JsonText) -> Redacted {
        if self.is_off() {
            Redacted::unchanged(doc)
        } else {
            doc.redact(self)
        }
    }
}

impl RedactionRule for Redaction {
    fn hides_member(&self, key: &str) -> bool {
        self.keys.contain(key)
    }

    fn hides_string(&self, value: &str) -> bool {
        self.patterns.is_match(value)
    }

    fn inspects_strings(&self) -> bool {
        self.patterns.set.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(keys: &str, patterns: &str) -> Redaction {
        Redaction::new(keys.parse().unwrap(), patterns.parse().unwrap())
    }

    fn shown(rule: &Redaction, text: &str) -> String {
        rule.apply(JsonText::parse(text).unwrap()).doc.into_string()
    }

    #[test]
    fn keys_are_a_comma_separated_list_matched_in_any_case() {
        let rule = rule(" password, apiKey,,TOKEN ,Clé", "");
        let text = r#"{"PassWord":1,"apikey":2,"token":3,"CLÉ":4,"tokens":5,"api_key":6}"#;

        assert_eq!(
            shown(&rule, text),
            r#"{"PassWord":"[REDACTED]","apikey":"[REDACTED]","token":"[REDACTED]","CLÉ":"[REDACTED]","tokens":5,"api_key":6}"#
        );
    }

    #[test]
    fn patterns_hide_matching_string_values_only() {
        let rule = rule("", r"^sk_live_, @example\.com$");
        let text = r#"{"a":"sk_live_x","b":"x sk_live_","c":"ada@example.com","sk_live_k":"v"}"#;

        assert_eq!(
            shown(&rule, text),
            r#"{"a":"[REDACTED]","b":"x sk_live_","c":"[REDACTED]","sk_live_k":"v"}"#
        );
    }

    #[test]
    fn commas_inside_brackets_braces_and_groups_stay_in_their_pattern() {
        let patterns: ValuePatterns = r"^a{2,3}$,[,;]x, (b,c) ,d\,e,,".parse().unwrap();
        assert_eq!(patterns.sources(), [r"^a{2,3}$", "[,;]x", "(b,c)", r"d\,e"]);
        assert!(patterns.is_match("aaa") && !patterns.is_match("aaaa"));
        assert!(patterns.is_match(";x") && patterns.is_match("b,c") && patterns.is_match("d,e"));
    }

    #[test]
    fn an_invalid_pattern_is_refused_in_one_line_naming_it() {
        let error = "^ok,sk_(live".parse::<ValuePatterns>().unwrap_err();

        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains(r#""sk_(live""#), "{error}");
        assert!(error.contains("unclosed group"), "{error}");
    }

    #[test]
    fn nothing_configured_hides_nothing_and_copies_nothing() {
        let rule = rule(" , ", " ,, ");
        let doc = JsonText::parse(r#"{"password":"sk_live_x"}"#).unwrap();
        let address = doc.as_str().as_ptr();

        let out = rule.apply(doc);

        assert!(rule.is_off());
        assert!(out.hidden.is_empty());
        assert_eq!(out.doc.as_str().as_ptr(), address);
    }
}
