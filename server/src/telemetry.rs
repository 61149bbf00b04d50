//! Structured logs: human-readable text by default, JSON lines for log
//! pipelines. Never passwords, tokens or JSON payloads; text a client sent
//! is logged in Debug form, so control characters arrive escaped.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// What the server logs unless `RUST_LOG` says otherwise.
pub const SERVER_FILTER: &str = "info,sqlx=warn";
/// What account commands log: their security events, and problems.
pub const ACCOUNT_COMMAND_FILTER: &str = "warn,regen_admin::security=info";

/// `filter` is `RUST_LOG`; one that does not parse falls back to the
/// command's default, as `tracing`'s own reading of the variable does.
pub fn init(format: LogFormat, filter: Option<&str>, default_filter: &str) {
    let filter = filter
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file gets no
        // escape sequences at all.
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
