//! How an export's rows are written: the two formats, CSV cells that no
//! spreadsheet will run, and NDJSON lines with the payloads verbatim.

use regen_domain::{AuditRecord, JsonText};
use regen_storage::StoredJobRef;
use serde::Serialize;

use crate::ServiceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 2] = [ExportFormat::Csv, ExportFormat::Ndjson];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
            ExportFormat::Ndjson => "application/x-ndjson",
        }
    }
}

/// Characters a spreadsheet may read as the start of a formula: the ASCII
/// four, and their fullwidth and small forms, which some spreadsheets
/// (and the IMEs that type them) fold into the ASCII ones.
fn starts_formula(c: char) -> bool {
    matches!(
        c,
        '=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠' | '﹦' | '﹢' | '﹣' | '﹫'
    )
}

/// Characters a spreadsheet skips before a formula: every Unicode space and
/// line break (NBSP, ideographic space, LF…), and the zero-width ones.
fn skipped_before_formula(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// A cell as RFC 4180 wants it, and as no spreadsheet will run: text that
/// starts like a formula, after any leading spaces, or that starts with a
/// tab or line break, gets a leading `'`.
pub fn csv_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_csv_cell(&mut out, text);
    out
}

/// [`csv_cell`], written straight into `out`.
fn push_csv_cell(out: &mut String, text: &str) {
    let looks_like_formula = text.starts_with(['\t', '\r', '\n'])
        || text
            .chars()
            .find(|c| !skipped_before_formula(*c))
            .is_some_and(starts_formula);
    let quoted = text.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if looks_like_formula {
        out.push('\'');
    }
    if quoted {
        for (i, part) in text.split('"').enumerate() {
            if i > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    } else {
        out.push_str(text);
    }
}

pub(crate) fn csv_line(out: &mut String, cells: &[&str]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_cell(out, cell);
    }
    out.push_str("\r\n");
}

pub(crate) const JOB_CSV_HEADER: [&str; 6] = [
    "id",
    "status",
    "targetType",
    "targetId",
    "createdAt",
    "createdBy",
];
pub(crate) const AUDIT_CSV_HEADER: [&str; 8] = [
    "id",
    "eventType",
    "jobId",
    "actor",
    "actorName",
    "occurredAt",
    "requestId",
    "details",
];

/// Appends a job as one NDJSON line: the detail API's fields, in its order,
/// with the payloads' stored text verbatim. Line breaks between a payload's
/// tokens (the only raw line breaks valid JSON can hold) become spaces, so
/// each job stays on one line and every offset in the payload stays put.
pub(crate) fn job_line(out: &mut String, job: &StoredJobRef<'_>) {
    let payload = |out: &mut String, text: Option<&str>| match text {
        // memchr: `str::contains` with a set of chars tests one char at a
        // time, a tenth of an NDJSON export's time.
        Some(text) if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() => {
            out.push_str(&text.replace(['\n', '\r'], " "))
        }
        Some(text) => out.push_str(text),
        None => out.push_str("null"),
    };
    out.push_str("{\"id\":");
    push_json_string(out, job.id);
    out.push_str(",\"status\":");
    push_json_string(out, job.status);
    out.push_str(",\"targetType\":");
    push_json_string(out, job.target_type);
    out.push_str(",\"targetId\":");
    push_json_string(out, job.target_id);
    out.push_str(",\"instructionJson\":");
    payload(out, Some(job.instruction_json));
    out.push_str(",\"outputRef\":");
    payload(out, job.output_ref);
    out.push_str(",\"errorJson\":");
    payload(out, job.error_json);
    out.push_str(",\"createdAt\":");
    push_json_string(out, job.created_at);
    out.push_str(",\"createdBy\":");
    push_json_string(out, job.created_by);
    out.push_str("}\n");
}

/// `text` as a JSON string, escaped as serde_json escapes it (quotes,
/// backslashes and control characters; nothing else).
fn push_json_string(out: &mut String, text: &str) {
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&serde_json::to_string(text).expect("a string always serialises"));
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// Appends one NDJSON line.
pub(crate) fn json_line(out: &mut String, value: &impl Serialize) -> Result<(), ServiceError> {
    let line = serde_json::to_string(value)
        .map_err(|e| ServiceError::InvalidInput(format!("cannot serialise a row: {e}")))?;
    out.push_str(&line);
    out.push('\n');
    Ok(())
}

/// Job summaries as CSV lines, each cell written from its stored text
/// (summary columns are never NULL).
pub(crate) fn write_job_rows<'a>(
    out: &mut String,
    jobs: impl Iterator<Item = [Option<&'a str>; 6]>,
) {
    for cells in jobs {
        csv_line(out, &cells.map(Option::unwrap_or_default));
    }
}

pub(crate) fn write_audit_events(
    out: &mut String,
    events: &[AuditRecord],
    format: ExportFormat,
) -> Result<(), ServiceError> {
    for event in events {
        match format {
            ExportFormat::Csv => {
                let id = event.id.to_string();
                let job_id = event.job_id.to_string();
                let occurred_at = event.occurred_at.to_string();
                csv_line(
                    out,
                    &[
                        &id,
                        event.event_type.as_str(),
                        &job_id,
                        &event.actor,
                        &event.actor_name,
                        &occurred_at,
                        event.request_id.as_deref().unwrap_or(""),
                        event.details.as_ref().map_or("", JsonText::as_str),
                    ],
                );
            }
            ExportFormat::Ndjson => json_line(out, event)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use regen_storage::StoredJob;

    fn stored_job(instruction: &str, output: Option<&str>) -> StoredJob {
        StoredJob {
            id: "0190a4b4-7a2b-7c3d-8e4f-5a6b7c8d9e0f".into(),
            status: "PENDING".into(),
            target_type: "insight".into(),
            target_id: "say \"hi\"\n".into(),
            instruction_json: instruction.into(),
            output_ref: output.map(str::to_owned),
            error_json: None,
            created_at: "1970-01-01T00:00:00.000Z".into(),
            created_by: "bot".into(),
        }
    }

    #[test]
    fn a_job_line_embeds_its_payloads_as_stored_on_one_line() {
        let mut out = String::new();
        job_line(
            &mut out,
            &stored_job("{ \"a\" : 1.10 }", Some("[1,\r\n2]")).borrowed(),
        );
        assert_eq!(
            out,
            "{\"id\":\"0190a4b4-7a2b-7c3d-8e4f-5a6b7c8d9e0f\",\"status\":\"PENDING\",\
             \"targetType\":\"insight\",\"targetId\":\"say \\\"hi\\\"\\n\",\
             \"instructionJson\":{ \"a\" : 1.10 },\"outputRef\":[1,  2],\"errorJson\":null,\
             \"createdAt\":\"1970-01-01T00:00:00.000Z\",\"createdBy\":\"bot\"}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(parsed["outputRef"], serde_json::json!([1, 2]));
    }

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn cells_that_look_like_formulas_are_defused() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        for text in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(
                csv_cell(text).trim_start_matches('"').starts_with('\''),
                "{text:?}"
            );
        }
        assert_eq!(csv_cell("a=b"), "a=b");
    }

    #[test]
    fn formulas_after_leading_spaces_are_defused() {
        for text in [
            " =2+2",
            "  +10",
            "\u{A0}=9+9",
            "\u{3000}-1",
            "\u{200B}@x",
            "\t =1",
        ] {
            assert!(csv_cell(text).starts_with('\''), "{text:?}");
        }
    }

    #[test]
    fn a_line_break_before_a_formula_is_defused_inside_the_quotes() {
        assert_eq!(csv_cell("\n=7+7"), "\"'\n=7+7\"");
        assert_eq!(csv_cell("\r\n=7+7"), "\"'\r\n=7+7\"");
    }

    #[test]
    fn fullwidth_formula_characters_are_defused_like_ascii_ones() {
        for text in ["＝8+8", "＋1", "－1", "＠SUM(A1)", " ＝1", "﹦1"] {
            assert!(csv_cell(text).starts_with('\''), "{text:?}");
        }
    }

    #[test]
    fn text_with_spaces_but_no_formula_is_left_alone() {
        for text in [" plain", "\u{A0}x", "a = b", "   ", "x\u{A0}=1"] {
            assert!(!csv_cell(text).contains('\''), "{text:?}");
        }
    }
}
