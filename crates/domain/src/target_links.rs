//! Links from a job to its target in the system it lives in (a CMS…):
//! `REGEN_TARGET_URL_TEMPLATES`, a comma-separated list of
//! `targetType=URL` pairs whose URL holds `{targetId}`. Parsed once at
//! start-up; a target id is put into its template percent-encoded as a path
//! segment, so no id can leave the segment the template gives it.

use std::fmt::Write as _;
use std::str::FromStr;

/// What a template marks as the place of the target id.
pub const TARGET_ID_PLACEHOLDER: &str = "{targetId}";

/// One template: its text split at every `{targetId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UrlTemplate {
    pieces: Vec<String>,
}

/// The configured templates, by target type. Empty: no links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetLinks {
    templates: Vec<(String, UrlTemplate)>,
}

impl TargetLinks {
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// The URL of a target, when its type has a template. A target id of
    /// `.` or `..` gets none: browsers resolve such a segment (even
    /// percent-encoded, `%2e%2e`) as a step up the path, so no encoding
    /// keeps it in its place.
    pub fn href(&self, target_type: &str, target_id: &str) -> Option<String> {
        let (_, template) = self.templates.iter().find(|(t, _)| t == target_type)?;
        if target_id.is_empty() || target_id == "." || target_id == ".." {
            return None;
        }
        Some(template.pieces.join(&encode_path_segment(target_id)))
    }
}

/// Percent-encodes every byte of `text`'s UTF-8 but the unreserved
/// characters of RFC 3986 (letters, digits, `-`, `.`, `_`, `~`), so the
/// result is one path segment wherever it is put: no `/`, `?`, `#`, `%`,
/// space or anything else that could end the segment or change the URL.
pub fn encode_path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn parse_template(entry: &str, url: &str) -> Result<UrlTemplate, String> {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = ["https://", "http://"]
        .into_iter()
        .find_map(|scheme| lower.starts_with(scheme).then(|| &url[scheme.len()..]))
    else {
        return Err(format!(
            "entry {entry:?}: only https:// and http:// URLs are accepted"
        ));
    };
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(c))
    {
        return Err(format!(
            "entry {entry:?}: the URL may not hold spaces, quotes, angle brackets or backslashes"
        ));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('{') {
        return Err(format!(
            "entry {entry:?}: the URL needs a fixed host ({TARGET_ID_PLACEHOLDER} only after it)"
        ));
    }
    if !url.contains(TARGET_ID_PLACEHOLDER) {
        return Err(format!(
            "entry {entry:?}: the URL has no {TARGET_ID_PLACEHOLDER}"
        ));
    }
    Ok(UrlTemplate {
        pieces: url
            .split(TARGET_ID_PLACEHOLDER)
            .map(str::to_owned)
            .collect(),
    })
}

impl FromStr for TargetLinks {
    type Err = String;

    /// `article=https://cms.example.com/articles/{targetId},…`; blank
    /// entries are skipped. The error names the first bad entry.
    fn from_str(text: &str) -> Result<TargetLinks, String> {
        let mut templates: Vec<(String, UrlTemplate)> = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((target_type, url)) = entry.split_once('=') else {
                return Err(format!("entry {entry:?} is not targetType=URL"));
            };
            let (target_type, url) = (target_type.trim(), url.trim());
            if target_type.is_empty()
                || target_type.len() > crate::MAX_LABEL_LEN
                || target_type.chars().any(char::is_control)
            {
                return Err(format!("entry {entry:?} has no usable target type"));
            }
            if templates.iter().any(|(t, _)| t == target_type) {
                return Err(format!(
                    "entry {entry:?}: target type {target_type:?} has a template already"
                ));
            }
            templates.push((target_type.to_owned(), parse_template(entry, url)?));
        }
        Ok(TargetLinks { templates })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(text: &str) -> TargetLinks {
        text.parse().unwrap()
    }

    #[test]
    fn each_target_type_links_through_its_own_template() {
        let links = links(
            " article=https://cms.example.com/articles/{targetId} , \
             video=http://media.internal/v/{targetId}/edit?from=regen,",
        );
        assert_eq!(
            links.href("article", "a-17").as_deref(),
            Some("https://cms.example.com/articles/a-17")
        );
        assert_eq!(
            links.href("video", "v9").as_deref(),
            Some("http://media.internal/v/v9/edit?from=regen")
        );
        assert_eq!(links.href("insight", "a-17"), None, "no template, no link");
        assert_eq!(links.href("Article", "a-17"), None, "types are exact");
    }

    #[test]
    fn no_setting_means_no_links() {
        assert!(links("").is_empty());
        assert!(links(" , ").is_empty());
    }

    #[test]
    fn hostile_target_ids_stay_inside_their_path_segment() {
        let links = links("article=https://cms.example.com/articles/{targetId}/view");
        let href = |id: &str| links.href("article", id).unwrap();
        assert_eq!(
            href("../admin"),
            "https://cms.example.com/articles/..%2Fadmin/view"
        );
        assert_eq!(
            href("../../x?y=1#z"),
            "https://cms.example.com/articles/..%2F..%2Fx%3Fy%3D1%23z/view"
        );
        assert_eq!(
            href("a b+c%20"),
            "https://cms.example.com/articles/a%20b%2Bc%2520/view"
        );
        assert_eq!(
            href("café/日本"),
            "https://cms.example.com/articles/caf%C3%A9%2F%E6%97%A5%E6%9C%AC/view"
        );
        assert_eq!(
            href("\\evil\"<x>"),
            "https://cms.example.com/articles/%5Cevil%22%3Cx%3E/view"
        );
        assert_eq!(
            href("A-z_0.9~"),
            "https://cms.example.com/articles/A-z_0.9~/view"
        );
        for dots in [".", ".."] {
            assert_eq!(links.href("article", dots), None, "{dots}");
        }
    }

    #[test]
    fn every_placeholder_of_a_template_is_filled() {
        let links = links("a=https://x.example/{targetId}?q={targetId}");
        assert_eq!(
            links.href("a", "1/2").as_deref(),
            Some("https://x.example/1%2F2?q=1%2F2")
        );
    }

    #[test]
    fn a_bad_entry_is_refused_and_named() {
        for (text, names) in [
            ("article", "\"article\" is not targetType=URL"),
            ("=https://x.example/{targetId}", "has no usable target type"),
            (
                "a=https://x.example/{targetId},ftp=ftp://files.example/{targetId}",
                "\"ftp=ftp://files.example/{targetId}\": only https:// and http://",
            ),
            (
                "js=javascript:alert(1)//{targetId}",
                "only https:// and http://",
            ),
            (
                "data=data:text/html,{targetId}",
                "\"data=data:text/html\": only https://",
            ),
            ("a=https://x.example/articles", "has no {targetId}"),
            ("a=https://{targetId}.example/", "needs a fixed host"),
            ("a=https:///{targetId}", "needs a fixed host"),
            ("a=https://x.example/a b/{targetId}", "may not hold spaces"),
            ("a=https://x.example/\"{targetId}", "may not hold spaces"),
            (
                "a=https://x.example/{targetId},a=https://y.example/{targetId}",
                "\"a\" has a template already",
            ),
        ] {
            let error = text.parse::<TargetLinks>().unwrap_err();
            assert!(error.contains(names), "{text}: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }

    #[test]
    fn schemes_are_matched_in_any_case() {
        let links = links("a=HTTPS://x.example/{targetId}");
        assert_eq!(links.href("a", "1").as_deref(), Some("HTTPS://x.example/1"));
    }
}
