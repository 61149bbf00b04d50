//! Prometheus text metrics: HTTP requests and latency per route and status,
//! trigger outcomes, audit failures, redacted values, pool usage and build
//! info.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::state::AppState;

pub async fn render(state: &AppState) -> String {
    let mut out = String::new();
    state.http_metrics.render(&mut out);
    let service = state.service.metrics();
    let triggers = service.triggers();
    out.push_str("# HELP regen_triggers_total Trigger attempts by outcome.\n# TYPE regen_triggers_total counter\n");
    for (outcome, value) in [
        ("ok", triggers.ok),
        ("conflict", triggers.conflict),
        ("not_found", triggers.not_found),
        ("error", triggers.error),
    ] {
        let _ = writeln!(out, "regen_triggers_total{{outcome=\"{outcome}\"}} {value}");
    }
    let _ = writeln!(
        out,
        "# HELP regen_audit_write_failures_total Audit rows the database refused (each went to the fallback journal). Alert when > 0.\n\
         # TYPE regen_audit_write_failures_total counter\nregen_audit_write_failures_total {}",
        service.audit_write_failures()
    );
    let _ = writeln!(
        out,
        "# HELP regen_audit_journal_failures_total Audit events that reached neither the database nor the journal.\n\
         # TYPE regen_audit_journal_failures_total counter\nregen_audit_journal_failures_total {}",
        service.audit_journal_failures()
    );
    let _ = writeln!(
        out,
        "# HELP regen_login_failure_storms_total Times one account drew many failed logins from several addresses (someone is guessing).\n\
         # TYPE regen_login_failure_storms_total counter\nregen_login_failure_storms_total {}",
        service.login_failure_storms()
    );
    let _ = writeln!(
        out,
        "# HELP regen_redacted_values_total Payload values hidden by redaction (REGEN_REDACT_KEYS, REGEN_REDACT_VALUE_PATTERNS) in everything this instance sent.\n\
         # TYPE regen_redacted_values_total counter\nregen_redacted_values_total {}",
        service.redacted_values()
    );
    out.push_str(
        "# HELP regen_security_events_total Logins, logouts and changes to access, by event (this instance).\n\
         # TYPE regen_security_events_total counter\n",
    );
    for (event, count) in service.security_events() {
        let _ = writeln!(
            out,
            "regen_security_events_total{{event=\"{}\"}} {count}",
            event.as_str()
        );
    }
    out.push_str(
        "# HELP regen_exports_total Exports by kind, format and outcome (completed; failed mid-stream; abandoned by the client; revoked: its credential stopped giving access; timed_out: past REGEN_EXPORT_MAX_SECONDS; idle: the client stopped reading).\n\
         # TYPE regen_exports_total counter\n",
    );
    for e in service.exports() {
        let _ = writeln!(
            out,
            "regen_exports_total{{kind=\"{}\",format=\"{}\",outcome=\"{}\"}} {}",
            e.kind.as_str(),
            e.format.as_str(),
            e.outcome.as_str(),
            e.count
        );
    }
    out.push_str(
        "# HELP regen_export_rows_total Rows written by exports, by kind.\n# TYPE regen_export_rows_total counter\n",
    );
    for (kind, rows) in service.exported_rows() {
        let _ = writeln!(
            out,
            "regen_export_rows_total{{kind=\"{}\"}} {rows}",
            kind.as_str()
        );
    }
    let pool = state.service.pool_usage();
    let _ = writeln!(
        out,
        "# HELP regen_db_pool_connections Database pool connections by state.\n# TYPE regen_db_pool_connections gauge\n\
         regen_db_pool_connections{{state=\"idle\"}} {}\nregen_db_pool_connections{{state=\"in_use\"}} {}\n\
         # HELP regen_db_pool_max_connections Most database connections this instance opens: the configured pool (REGEN_DB_MAX_CONNECTIONS).\n# TYPE regen_db_pool_max_connections gauge\n\
         regen_db_pool_max_connections {}",
        pool.idle,
        pool.size.saturating_sub(pool.idle),
        pool.max
    );
    let _ = writeln!(
        out,
        "# HELP regen_build_info Build information.\n# TYPE regen_build_info gauge\n\
         regen_build_info{{version=\"{}\",backend=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        state.service.backend_name()
    );
    match state.service.metrics_job_stats().await {
        Ok(stats) => {
            out.push_str("# HELP regen_jobs Jobs by status, exact (kept by the database).\n# TYPE regen_jobs gauge\n");
            for status in regen_domain::ALL_STATUSES {
                let _ = writeln!(
                    out,
                    "regen_jobs{{status=\"{status}\"}} {}",
                    stats.by_status.get(status)
                );
            }
            let age = stats
                .oldest_pending
                .map(|oldest| {
                    (regen_service::now().millis() - oldest.created_at.millis()).max(0) as f64
                        / 1000.0
                })
                .unwrap_or(0.0);
            let _ = writeln!(
                out,
                "# HELP regen_oldest_pending_age_seconds How long the oldest PENDING job has waited (0 when none waits).\n\
                 # TYPE regen_oldest_pending_age_seconds gauge\nregen_oldest_pending_age_seconds {age}"
            );
        }
        Err(error) => tracing::warn!(error = %error, "job gauges unavailable for this scrape"),
    }
    out
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = render(&state).await.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
