use super::*;

/// Hides members whose key is one of `keys` in any case, and strings that
/// start with `sk_live_`.
struct Rule {
    keys: &'static [&'static str],
    strings: bool,
}

const SECRETS: Rule = Rule {
    keys: &["password", "apikey", "token"],
    strings: true,
};

impl RedactionRule for Rule {
    fn hides_member(&self, key: &str) -> bool {
        self.keys.contains(&key.to_lowercase().as_str())
    }
    fn hides_string(&self, value: &str) -> bool {
        self.strings && value.starts_with("sk_live_")
    }
    fn inspects_strings(&self) -> bool {
        self.strings
    }
}

fn span(start: usize, end: usize) -> Range<usize> {
    Range { start, end }
}

fn redact(text: &str) -> Redacted {
    JsonText::parse(text).unwrap().redact(&SECRETS)
}

/// The redacted text, checked to be JSON whose hidden spans are exactly
/// its `"[REDACTED]"` values that the rule made.
fn redacted_text(text: &str) -> (String, usize) {
    let out = redact(text);
    for span in &out.hidden {
        assert_eq!(&out.doc.as_str()[span.clone()], REDACTED);
    }
    serde_json::from_str::<serde_json::Value>(out.doc.as_str()).expect("still JSON");
    (out.doc.into_string(), out.hidden.len())
}

#[test]
fn a_matched_key_hides_its_value_whatever_it_is_and_nothing_else_changes() {
    let text = r#"{ "id" : 7,
      "password":"hunter2", "token": 12345678901234567890.125,
      "apiKey" : {"a": [1, 2]}, "PASSWORD": [ "x", {"y": null} ],
      "Token": null, "apikey": true, "big": 12345678901234567890.125 }"#;

    let (out, count) = redacted_text(text);

    assert_eq!(
        out,
        r#"{ "id" : 7,
      "password":"[REDACTED]", "token": "[REDACTED]",
      "apiKey" : "[REDACTED]", "PASSWORD": "[REDACTED]",
      "Token": "[REDACTED]", "apikey": "[REDACTED]", "big": 12345678901234567890.125 }"#
    );
    assert_eq!(count, 6);
}

#[test]
fn keys_are_matched_at_depth_twelve() {
    let mut text = String::from(r#"{"password":"top""#);
    for level in 0..11 {
        text.push_str(&format!(r#","l{level}":{{"password":"s{level}""#));
    }
    text.push_str(&"}".repeat(12));

    let (out, count) = redacted_text(&text);

    assert_eq!(count, 12);
    assert!(!out.contains("\"s") && !out.contains("top"), "{out}");
    assert_eq!(out.matches(r#""password":"[REDACTED]""#).count(), 12);
}

#[test]
fn keys_are_matched_in_arrays_of_objects() {
    let text = r#"[{"user":"a","password":"p1"},[{"password":"p2"}],{"list":[{"token":"t"}]}]"#;

    let (out, count) = redacted_text(text);

    assert_eq!(
        out,
        r#"[{"user":"a","password":"[REDACTED]"},[{"password":"[REDACTED]"}],{"list":[{"token":"[REDACTED]"}]}]"#
    );
    assert_eq!(count, 3);
}

#[test]
fn escaped_spellings_of_a_key_are_the_key() {
    let text = r#"{"pass\u0077ord":"a","PASS\u0057ORD":"b","\u0074oken":"c","api\u004Bey":"d","pass\/word":"e"}"#;

    let (out, count) = redacted_text(text);

    assert_eq!(
        out,
        r#"{"pass\u0077ord":"[REDACTED]","PASS\u0057ORD":"[REDACTED]","\u0074oken":"[REDACTED]","api\u004Bey":"[REDACTED]","pass\/word":"e"}"#
    );
    assert_eq!(count, 4);
}

#[test]
fn a_hidden_value_is_not_looked_into() {
    let (out, count) = redacted_text(r#"{"password":{"password":"x","k":"sk_live_1"}}"#);

    assert_eq!(out, r#"{"password":"[REDACTED]"}"#);
    assert_eq!(count, 1);
}

#[test]
fn matching_string_values_are_hidden_wherever_they_are_and_keys_are_not_values() {
    let text = r#"{"a":"sk_live_1","b":["x","sk\u005flive_2"],"sk_live_key":"plain","c":{"d":"sk_test_3"}}"#;

    let (out, count) = redacted_text(text);

    assert_eq!(
        out,
        r#"{"a":"[REDACTED]","b":["x","[REDACTED]"],"sk_live_key":"plain","c":{"d":"sk_test_3"}}"#
    );
    assert_eq!(count, 2);
}

#[test]
fn a_whole_document_that_is_a_matching_string_is_hidden() {
    let out = redact(" \"sk_live_only\" ");
    assert_eq!(out.doc.as_str(), " \"[REDACTED]\" ");
    assert_eq!(out.hidden, [span(1, 13)]);
}

#[test]
fn a_stored_redacted_string_is_not_reported_as_hidden() {
    let out = redact(r#"{"note":"[REDACTED]","password":"x"}"#);

    assert_eq!(
        out.doc.as_str(),
        r#"{"note":"[REDACTED]","password":"[REDACTED]"}"#
    );
    assert_eq!(out.hidden, [span(32, 44)]);
}

#[test]
fn nothing_hidden_returns_the_stored_text_itself() {
    let doc =
        JsonText::parse(r#"{"a": [1e400, "caf\u00e9", {"b": -0.0}], "c": "sk_test_"}"#).unwrap();
    let address = doc.as_str().as_ptr();

    let out = doc.redact(&SECRETS);

    assert!(out.hidden.is_empty());
    assert_eq!(out.doc.as_str().as_ptr(), address, "not copied");
}

#[test]
fn strings_are_not_decoded_for_a_rule_that_ignores_them() {
    struct KeysOnly;
    impl RedactionRule for KeysOnly {
        fn hides_member(&self, key: &str) -> bool {
            key == "password"
        }
        fn hides_string(&self, _: &str) -> bool {
            panic!("asked about a string")
        }
        fn inspects_strings(&self) -> bool {
            false
        }
    }
    let out = JsonText::parse(r#"["sk_live_1",{"password":"x"}]"#)
        .unwrap()
        .redact(&KeysOnly);
    assert_eq!(
        out.doc.as_str(),
        r#"["sk_live_1",{"password":"[REDACTED]"}]"#
    );
}

#[test]
fn text_the_scan_cannot_follow_is_hidden_whole() {
    for bad in [
        r#"{"password" "x"}"#,
        r#"{"a":1"#,
        r#"{"a":"sk_live_}"#,
        r#"[1,]2"#,
        r#"{"a\q":1}"#,
        r#"{"\u12":1}"#,
        "",
    ] {
        let out = JsonText::spliced(bad.to_owned()).redact(&SECRETS);
        assert_eq!(out.doc.as_str(), REDACTED, "{bad}");
        assert_eq!(out.hidden, [span(0, REDACTED.len())], "{bad}");
    }
}

#[test]
fn escapes_decode_as_serde_json_decodes_them() {
    for literal in [
        r#""plain""#,
        r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
        r#""caf\u00e9 \u00C9""#,
        r#""\ud83d\udd11 key""#,
        r#""\uD83D\uDE00""#,
        r#""é and 日本 unescaped \u0041""#,
        r#""\u0000""#,
    ] {
        let expected: String = serde_json::from_str(literal).unwrap();
        let decoded = decode(&literal[1..literal.len() - 1]).unwrap();
        assert_eq!(decoded, expected, "{literal}");
    }
}

#[test]
fn lone_surrogates_decode_to_the_replacement_character() {
    assert_eq!(decode(r"a\ud83dz").unwrap(), "a\u{FFFD}z");
    assert_eq!(decode(r"\udc00\u0041").unwrap(), "\u{FFFD}A");
    assert_eq!(decode(r"\ud83d\u0041").unwrap(), "\u{FFFD}A");
}

/// A small deterministic generator (xorshift), enough to write many
/// documents of every shape without a property-testing dependency.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn space(&mut self) -> &'static str {
        self.pick(&["", "", " ", "\n  ", "\t"])
    }

    /// Keys decode to distinct texts, so serde_json keeps every member.
    fn document(&mut self, depth: u32, out: &mut String) {
        let kind = if depth > 5 {
            2 + self.below(3)
        } else {
            self.below(5)
        };
        match kind {
            0 => {
                out.push('{');
                let keys = ["\"k\"", "\"\\u004b\"", "\"a\"", "\"b\\n\"", "\"PassWord\""];
                let count = self.below(keys.len() as u64 + 1) as usize;
                let start = self.below(keys.len() as u64) as usize;
                for i in 0..count {
                    if i > 0 {
                        out.push(',');
                    }
                    let space = self.space();
                    out.push_str(space);
                    out.push_str(keys[(start + i) % keys.len()]);
                    out.push_str(self.space());
                    out.push(':');
                    out.push_str(self.space());
                    self.document(depth + 1, out);
                }
                out.push('}');
            }
            1 => {
                out.push('[');
                for i in 0..self.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(self.space());
                    self.document(depth + 1, out);
                }
                out.push(']');
            }
            2 => {
                let s = self.pick(&[
                    "\"sk_live_1\"",
                    "\"sk\\u005flive_2\"",
                    "\"x\"",
                    "\"[REDACTED]\"",
                    "\"\\ud83d\\ude00\"",
                ]);
                out.push_str(s);
            }
            3 => {
                let n = self.pick(&["12345678901234567890.125", "-0.0e+10", "7", "1E40"]);
                out.push_str(n);
            }
            _ => {
                let l = self.pick(&["true", "false", "null"]);
                out.push_str(l);
            }
        }
    }
}

/// What redaction should make of a parsed document.
fn expected(value: &serde_json::Value, hidden: &mut usize) -> serde_json::Value {
    use serde_json::Value;
    let redacted = || Value::String("[REDACTED]".into());
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, value)| {
                    let shown =
                        if ["password", "apikey", "token"].contains(&key.to_lowercase().as_str()) {
                            *hidden += 1;
                            redacted()
                        } else {
                            expected(value, hidden)
                        };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| expected(v, hidden)).collect()),
        Value::String(s) if s.starts_with("sk_live_") => {
            *hidden += 1;
            redacted()
        }
        other => other.clone(),
    }
}

#[test]
fn generated_documents_are_redacted_as_their_parsed_values_say_and_kept_byte_for_byte_without_a_rule(
) {
    struct Nothing;
    impl RedactionRule for Nothing {
        fn hides_member(&self, _: &str) -> bool {
            false
        }
        fn hides_string(&self, _: &str) -> bool {
            false
        }
    }
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2_000 {
        let mut text = String::new();
        text.push_str(random.space());
        random.document(0, &mut text);
        text.push_str(random.space());
        let doc = JsonText::parse(text.clone()).unwrap_or_else(|e| panic!("{e}: {text}"));

        let untouched = doc.clone().redact(&Nothing);
        let out = doc.redact(&SECRETS);

        assert_eq!(untouched.doc.as_str(), text);
        assert!(untouched.hidden.is_empty());
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut hidden = 0;
        let want = expected(&original, &mut hidden);
        let got: serde_json::Value = serde_json::from_str(out.doc.as_str()).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(out.hidden.len(), hidden, "{text}");
        for span in &out.hidden {
            assert_eq!(&out.doc.as_str()[span.clone()], REDACTED);
        }
    }
}
