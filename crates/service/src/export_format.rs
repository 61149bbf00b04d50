//! How an export's rows are written: the two formats, CSV cells that no
//! spreadsheet will run, and NDJSON lines with the payloads verbatim.

use regen_domain::{AuditRecord, JobId, JobSummary, JsonText, RegenerationJob, Timestamp};
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
    let looks_like_formula = text.starts_with(['\t', '\r', '\n'])
        || text
            .chars()
            .find(|c| !skipped_before_formula(*c))
            .is_some_and(starts_formula);
    let guarded = if looks_like_formula {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

pub(crate) fn csv_line(out: &mut String, cells: &[&str]) {
    let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    out.push_str(&cells.join(","));
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

/// A job as one NDJSON line: the detail API's fields, payloads verbatim.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobLine<'a> {
    id: JobId,
    status: regen_domain::JobStatus,
    target_type: &'a str,
    target_id: &'a str,
    instruction_json: &'a JsonText,
    output_ref: &'a Option<JsonText>,
    error_json: &'a Option<JsonText>,
    created_at: Timestamp,
    created_by: &'a str,
}

impl<'a> From<&'a RegenerationJob> for JobLine<'a> {
    fn from(job: &'a RegenerationJob) -> Self {
        JobLine {
            id: job.id,
            status: job.status,
            target_type: &job.target_type,
            target_id: &job.target_id,
            instruction_json: &job.instruction_json,
            output_ref: &job.output_ref,
            error_json: &job.error_json,
            created_at: job.created_at,
            created_by: &job.created_by,
        }
    }
}

/// Appends one NDJSON line, serialised straight into the chunk (a payload
/// of megabytes is not copied once more on the way).
pub(crate) fn json_line(out: &mut String, value: &impl Serialize) -> Result<(), ServiceError> {
    let mut bytes = std::mem::take(out).into_bytes();
    let written = serde_json::to_writer(&mut bytes, value);
    bytes.push(b'\n');
    // serde_json writes UTF-8 only; the check cannot fail and copies nothing.
    *out = String::from_utf8(bytes).map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
    written.map_err(|e| ServiceError::InvalidInput(format!("cannot serialise a row: {e}")))
}

pub(crate) fn write_job_rows(out: &mut String, jobs: &[JobSummary]) {
    for job in jobs {
        let id = job.id.to_string();
        let created_at = job.created_at.to_string();
        csv_line(
            out,
            &[
                &id,
                job.status.as_str(),
                &job.target_type,
                &job.target_id,
                &created_at,
                &job.created_by,
            ],
        );
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
