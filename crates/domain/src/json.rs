use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON document kept as the exact text it was given.
///
/// Jobs carry JSON that admins read to decide whether to trigger, so it is
/// never re-serialised: numbers beyond f64 precision, key order, whitespace and
/// unicode escapes all survive. It is validated once, on the way in.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = Value, description = "Stored JSON, embedded verbatim")
)]
pub struct JsonText(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at line {line}, column {column}: {message}")]
pub struct JsonTextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl JsonText {
    /// Parse, don't validate: the only way to get a `JsonText` is through a
    /// successful parse of the whole text.
    pub fn parse(text: impl Into<String>) -> Result<Self, JsonTextError> {
        let text = text.into();
        serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| JsonTextError {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        Ok(Self(text))
    }

    /// Text made from a `JsonText` by replacing whole values with other JSON
    /// values (redaction), which keeps it JSON: no need to parse it again.
    pub(crate) fn spliced(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The JSON `null` literal (possibly surrounded by whitespace).
    pub fn is_null(&self) -> bool {
        self.0.trim() == "null"
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads can be megabytes and must not flood logs.
        write!(f, "JsonText({} bytes)", self.0.len())
    }
}

impl fmt::Display for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        JsonText::parse(raw.get().to_owned()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_kept_byte_for_byte() {
        let text = "{ \"z\": 1, \"a\": 12345678901234567890123, \"u\": \"\\u00e9\" }";
        let json = JsonText::parse(text).unwrap();
        assert_eq!(json.as_str(), text);
    }

    #[test]
    fn serialising_embeds_the_stored_text_verbatim() {
        let json = JsonText::parse("{\"b\":1,\"a\":1.000000000000000000001}").unwrap();
        let out = serde_json::to_string(&vec![json]).unwrap();
        assert_eq!(out, "[{\"b\":1,\"a\":1.000000000000000000001}]");
    }

    #[test]
    fn malformed_json_is_refused_with_its_position() {
        let err = JsonText::parse("{\"a\": }").unwrap_err();
        assert_eq!((err.line, err.column), (1, 7));
        assert!(JsonText::parse("").is_err());
        assert!(JsonText::parse("{} {}").is_err());
    }

    #[test]
    fn null_is_recognised() {
        assert!(JsonText::parse(" null ").unwrap().is_null());
        assert!(!JsonText::parse("0").unwrap().is_null());
    }
}
