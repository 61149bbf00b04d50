//! Redaction through the real server: configured secrets leave through none
//! of the ways an admin reads a payload (the viewer, the download, the REST
//! detail, the NDJSON export, the CLI, and audit details), every other byte
//! is what was stored, and without configuration nothing changes.

use std::process::Command;

use regen_domain::json_html::raw_pre_html;
use regen_domain::{AuditEvent, AuditEventType, JobStatus, JsonText, NewJob, Timestamp};
use regen_service::Redaction;
use regen_storage::Backend;

use crate::helpers::{refused_serve, sample, spawn_app_with, Options, TestApp};
use crate::pages::html;

both_backends!(
    configured_secrets_leave_through_no_output_and_every_other_byte_is_as_stored,
    without_configuration_every_output_is_the_stored_bytes,
);

const KEYS: &str = "password,apiKey,token";
const PATTERNS: &str = "^sk_live_";

/// Keys at depth 1 and 12, in arrays of objects, spelled with escapes and in
/// other cases, holding a string, an object, an array, a number and null;
/// string values matching the pattern, one of them escaped.
const INSTRUCTION: &str = r#"{ "prompt" : "rewrite",  "password": "S3CRET-depth1",
  "big": 12345678901234567890.125,
  "d1": {"d2": {"d3": {"d4": {"d5": {"d6": {"d7": {"d8": {"d9": {"d10": {"d11": {"apiKey": "S3CRET-depth12"}}}}}}}}}}},
  "steps": [ {"n": 1, "token": "S3CRET-array1"}, {"n": 2.50, "TOKEN": "S3CRET-array2"} ],
  "auth": {"pass\u0077ord": "S3CRET-escaped"},
  "apikey": {"nested": "S3CRET-object"},
  "Password": ["S3CRET-array"],
  "token": 98765432109876543210,
  "PASSWORD": null,
  "note": "caf\u00e9 \"quoted\"", "old": "[REDACTED]",
  "card": "sk_live_S3CRET-value",
  "escaped": "sk\u005flive_S3CRET-escapedvalue"
}"#;

const INSTRUCTION_SHOWN: &str = r#"{ "prompt" : "rewrite",  "password": "[REDACTED]",
  "big": 12345678901234567890.125,
  "d1": {"d2": {"d3": {"d4": {"d5": {"d6": {"d7": {"d8": {"d9": {"d10": {"d11": {"apiKey": "[REDACTED]"}}}}}}}}}}},
  "steps": [ {"n": 1, "token": "[REDACTED]"}, {"n": 2.50, "TOKEN": "[REDACTED]"} ],
  "auth": {"pass\u0077ord": "[REDACTED]"},
  "apikey": "[REDACTED]",
  "Password": "[REDACTED]",
  "token": "[REDACTED]",
  "PASSWORD": "[REDACTED]",
  "note": "caf\u00e9 \"quoted\"", "old": "[REDACTED]",
  "card": "[REDACTED]",
  "escaped": "[REDACTED]"
}"#;

const OUTPUT: &str = r#"{"uri": "s3://bucket/out.json", "signed": {"token": "S3CRET-output"}}"#;
const OUTPUT_SHOWN: &str = r#"{"uri": "s3://bucket/out.json", "signed": {"token": "[REDACTED]"}}"#;
const ERROR: &str = r#"{"code": "E42", "detail": "sk_live_S3CRET-error"}"#;
const ERROR_SHOWN: &str = r#"{"code": "E42", "detail": "[REDACTED]"}"#;
const DETAILS: &str = r#"{"reason": "retry", "apiKey": "S3CRET-audit"}"#;
const DETAILS_SHOWN: &str = r#"{"reason": "retry", "apiKey": "[REDACTED]"}"#;

/// Bytes of every secret above, and of nothing else.
const SECRET_BYTES: [&str; 2] = ["S3CRET", "98765432109876543210"];

const HIDDEN_IN_INSTRUCTION: usize = 11;
const HIDDEN: usize = HIDDEN_IN_INSTRUCTION + 2;

/// Everything an admin can read of one job, each way it leaves the server.
struct Outputs {
    detail: String,
    detail_header: Option<String>,
    /// instructionJson, outputRef, errorJson.
    downloads: Vec<(String, Option<String>)>,
    page: String,
    export: String,
    audit: String,
    audit_export: String,
    cli: String,
    cli_stderr: String,
}

fn header(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("Regen-Redacted")
        .map(|v| v.to_str().unwrap().to_owned())
}

async fn insert_job(app: &TestApp) -> String {
    let store = app.store().await;
    let job = store
        .insert_job(NewJob {
            status: JobStatus::Failed,
            target_type: "insight".into(),
            target_id: "redaction".into(),
            instruction_json: JsonText::parse(INSTRUCTION).unwrap(),
            output_ref: Some(JsonText::parse(OUTPUT).unwrap()),
            error_json: Some(JsonText::parse(ERROR).unwrap()),
            created_by: "producer".into(),
        })
        .await
        .unwrap();
    store
        .insert_audit_events(&[AuditEvent {
            id: uuid::Uuid::now_v7(),
            event_type: AuditEventType::Failed,
            job_id: job.id,
            actor: "executor".into(),
            occurred_at: Timestamp::from_millis(job.created_at.millis() + 1).unwrap(),
            request_id: None,
            details: Some(JsonText::parse(DETAILS).unwrap()),
        }])
        .await
        .unwrap();
    job.id.to_string()
}

async fn outputs(app: &TestApp, id: &str, cli_env: &[(&str, &str)]) -> Outputs {
    let token = Some(app.admin_token.as_str());
    let detail = app
        .get(&format!("/api/admin/regeneration-jobs/{id}"), token)
        .await;
    assert_eq!(detail.status(), 200);
    let detail_header = header(&detail);
    let detail = detail.text().await.unwrap();
    let browser = app.browser_login("ada").await;
    let mut downloads = Vec::new();
    for field in ["instructionJson", "outputRef", "errorJson"] {
        let url = app.url(&format!("/admin/regeneration-jobs/{id}/download/{field}"));
        let response = browser.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{field}");
        let count = header(&response);
        downloads.push((response.text().await.unwrap(), count));
    }
    let page = html(&browser, app.url(&format!("/admin/regeneration-jobs/{id}"))).await;
    let export = app
        .get("/api/admin/regeneration-jobs/export?format=ndjson", token)
        .await
        .text()
        .await
        .unwrap();
    let mut audit = Vec::new();
    for path in ["audit-events?", "audit-events/export?format=ndjson&"] {
        let url = format!("/api/admin/{path}jobId={id}");
        audit.push(app.get(&url, token).await.text().await.unwrap());
    }
    let [audit, audit_export] = audit.try_into().unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .args(["job", "show", id])
        .env("DATABASE_URL", &app.database.url)
        .env("REGEN_AUDIT_FALLBACK_PATH", &app.journal)
        .env_remove("REGEN_REDACT_KEYS")
        .env_remove("REGEN_REDACT_VALUE_PATTERNS")
        .envs(cli_env.iter().copied())
        .output()
        .unwrap();
    assert!(cli.status.success(), "{cli:?}");
    Outputs {
        detail,
        detail_header,
        downloads,
        page,
        export,
        audit,
        audit_export,
        cli: String::from_utf8(cli.stdout).unwrap(),
        cli_stderr: String::from_utf8(cli.stderr).unwrap(),
    }
}

fn embedded(name: &str, doc: &str) -> String {
    format!("\"{name}\":{doc}")
}

/// The documents one job's outputs should show: its three payloads and its
/// audit event's details.
struct Shown<'a> {
    instruction: &'a str,
    output: &'a str,
    error: &'a str,
    details: &'a str,
}

impl Outputs {
    /// Every output shows exactly these documents, byte for byte, and the
    /// CLI prints the API's detail.
    fn assert_show(&self, shown: &Shown) {
        for text in [&self.detail, &self.export, &self.cli] {
            for (name, doc) in [
                ("instructionJson", shown.instruction),
                ("outputRef", shown.output),
                ("errorJson", shown.error),
            ] {
                // NDJSON keeps each record on one line: the line breaks
                // between a payload's tokens are written as spaces.
                let doc = if std::ptr::eq(text, &self.export) {
                    doc.replace(['\n', '\r'], " ")
                } else {
                    doc.to_owned()
                };
                assert!(text.contains(&embedded(name, &doc)), "{name}: {text}");
            }
        }
        let downloads: Vec<&str> = self
            .downloads
            .iter()
            .map(|(body, _)| body.as_str())
            .collect();
        assert_eq!(downloads, [shown.instruction, shown.output, shown.error]);
        for doc in [shown.instruction, shown.output, shown.error] {
            let raw = raw_pre_html(&JsonText::parse(doc).unwrap());
            assert!(self.page.contains(&raw), "the raw view shows {doc}");
        }
        let details = embedded("details", shown.details);
        assert!(self.audit.contains(&details), "{}", self.audit);
        assert!(
            self.audit_export.contains(&details),
            "{}",
            self.audit_export
        );
        assert_eq!(
            self.cli.trim_end(),
            self.detail,
            "the CLI prints the API's detail"
        );
    }

    /// `Regen-Redacted` of the detail, then of each download.
    fn counts(&self) -> Vec<Option<&str>> {
        std::iter::once(self.detail_header.as_deref())
            .chain(self.downloads.iter().map(|(_, count)| count.as_deref()))
            .collect()
    }
}

async fn configured_secrets_leave_through_no_output_and_every_other_byte_is_as_stored(
    backend: Backend,
) {
    let redaction = Redaction::new(KEYS.parse().unwrap(), PATTERNS.parse().unwrap());
    let options = Options {
        redaction,
        ..Options::with_metrics()
    };
    let app = spawn_app_with(backend, options).await;
    let id = insert_job(&app).await;
    let stored = app.snapshot().await;

    let out = outputs(
        &app,
        &id,
        &[
            ("REGEN_REDACT_KEYS", KEYS),
            ("REGEN_REDACT_VALUE_PATTERNS", PATTERNS),
        ],
    )
    .await;

    for (name, text) in [
        ("detail", &out.detail),
        ("page", &out.page),
        ("export", &out.export),
        ("audit", &out.audit),
        ("audit export", &out.audit_export),
        ("cli", &out.cli),
        ("cli stderr", &out.cli_stderr),
    ]
    .into_iter()
    .chain(out.downloads.iter().map(|(body, _)| ("download", body)))
    {
        for secret in SECRET_BYTES {
            assert!(!text.contains(secret), "{name} shows {secret}: {text}");
        }
    }
    out.assert_show(&Shown {
        instruction: INSTRUCTION_SHOWN,
        output: OUTPUT_SHOWN,
        error: ERROR_SHOWN,
        details: DETAILS_SHOWN,
    });
    assert_eq!(out.counts(), [Some("13"), Some("11"), Some("1"), Some("1")]);
    assert_eq!(
        out.cli_stderr.trim(),
        "regen-admin: 13 values hidden by redaction"
    );
    assert!(out.page.contains(">11 values hidden<"), "{}", out.page);
    assert_eq!(out.page.matches(">1 value hidden<").count(), 2);
    assert_eq!(
        out.page
            .matches(r#"<li role="treeitem" class="redacted" title="#)
            .count(),
        HIDDEN,
        "each hidden value is marked, and the stored \"[REDACTED]\" text is not"
    );
    // Detail, downloads, export and page each hid every value once; the
    // audit listing and its export one each (the CLI is a process of its
    // own).
    let metrics = app.private_metrics().await;
    assert_eq!(
        sample(&metrics, "regen_redacted_values_total"),
        (4 * HIDDEN + 2) as f64
    );
    assert_eq!(app.snapshot().await, stored, "stored rows never change");
}

async fn without_configuration_every_output_is_the_stored_bytes(backend: Backend) {
    let app = spawn_app_with(backend, Options::with_metrics()).await;
    let id = insert_job(&app).await;

    let out = outputs(&app, &id, &[]).await;

    out.assert_show(&Shown {
        instruction: INSTRUCTION,
        output: OUTPUT,
        error: ERROR,
        details: DETAILS,
    });
    assert_eq!(out.counts(), [None, None, None, None]);
    assert_eq!(out.cli_stderr, "");
    assert!(!out.page.contains("hidden<") && !out.page.contains("class=\"redacted\""));
    let metrics = app.private_metrics().await;
    assert_eq!(sample(&metrics, "regen_redacted_values_total"), 0.0);
}

#[test]
fn an_invalid_value_pattern_refuses_to_start_in_one_line_naming_it() {
    let (status, stderr, created) = refused_serve(
        &[
            ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
            ("REGEN_REDACT_KEYS", KEYS),
            ("REGEN_REDACT_VALUE_PATTERNS", "^sk_live_, sk_(test"),
        ],
        &[],
    );

    assert!(!status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("REGEN_REDACT_VALUE_PATTERNS") && stderr.contains(r#""sk_(test""#),
        "{stderr}"
    );
    assert!(!stderr.contains("listening"), "{stderr}");
    assert!(!created, "nothing was opened");
}
