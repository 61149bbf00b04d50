//! Every setting comes from an environment variable, validated at start-up
//! with one clear line per problem.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regen_service::{LoginThrottle, SessionPolicy};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/regen-admin.db";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    pub site_root: PathBuf,
    /// The browser-facing origin, e.g. `https://regen.example.com`. Decides
    /// the Origin accepted for CSRF, the cookie's Secure flag and HSTS.
    /// Unset only on a loopback listener, where the loopback names of this
    /// port are accepted.
    pub public_origin: Option<String>,
    /// A header set by a trusted reverse proxy holding the client address
    /// (e.g. `x-forwarded-for`; its right-most entry is used). Unset: the
    /// TCP peer address, which behind a load balancer is the balancer's.
    pub client_ip_header: Option<String>,
    pub env_label: Option<String>,
    pub env_color: String,
    pub audit_fallback_path: PathBuf,
    pub sessions: SessionPolicy,
    pub login_throttle: LoginThrottle,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub metrics_addr: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub shutdown_grace: Duration,
}

/// One documented setting: name, default, meaning. The README's
/// configuration table says the same; a test checks that every name here
/// has a row there.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    ("DATABASE_URL", DEFAULT_DATABASE_URL, "`sqlite://PATH` (file and directory created on first use) or `postgres://USER@HOST:PORT/DB`"),
    ("LEPTOS_SITE_ADDR", "127.0.0.1:3000", "address the web server listens on"),
    ("LEPTOS_SITE_ROOT", "`target/site`, found next to the binary or in the working directory", "built site files (WASM, JS, CSS)"),
    ("REGEN_PUBLIC_ORIGIN", "unset (allowed only on a loopback address)", "browser-facing origin, e.g. `https://regen.example.com`; required when listening on anything but loopback. The only origin accepted for cookie-authenticated writes; `https` makes the session cookie Secure and turns on HSTS"),
    ("REGEN_CLIENT_IP_HEADER", "unset (TCP peer address)", "header from a trusted proxy with the client address, e.g. `x-forwarded-for` (right-most entry); login throttling is per client address"),
    ("REGEN_ENV_LABEL", "unset (no banner)", "environment banner text, e.g. `production`"),
    ("REGEN_ENV_COLOR", "`#b91c1c` for production, else `#1d4ed8`", "banner colour (CSS colour)"),
    ("REGEN_AUDIT_FALLBACK_PATH", "next to the SQLite file, else `data/audit-fallback.jsonl`", "JSON-lines journal for audit events the database refused"),
    ("REGEN_SESSION_IDLE_SECS", "3600", "a session unused this long ends"),
    ("REGEN_SESSION_MAX_SECS", "43200", "a session ends this long after login"),
    ("REGEN_LOGIN_WINDOW_SECS", "900", "login throttle: the sliding window failed logins are counted in, in the database, so every instance and restart shares them"),
    ("REGEN_LOGIN_ADDRESS_FAILURES", "10", "login throttle: failed logins one client address may have in the window, whatever user names it tries"),
    ("REGEN_LOGIN_FREE_ATTEMPTS", "3", "login throttle: failures for one user name from one address before each further try waits 1 s, 2 s, 4 s… (a user is never locked out from other addresses)"),
    ("REGEN_DB_MAX_CONNECTIONS", "10", "database pool size per instance"),
    ("REGEN_DB_TIMEOUT_MS", "5000", "wait for a pooled connection or lock before answering 503"),
    ("REGEN_METRICS_ADDR", "unset", "extra listener serving only `/metrics` (e.g. `127.0.0.1:9100`); without it `/metrics` needs an admin token"),
    ("REGEN_LOG_FORMAT", "text", "`text` or `json`"),
    ("RUST_LOG", "info", "log filter"),
    ("REGEN_SHUTDOWN_GRACE_SECS", "20", "on SIGTERM/Ctrl-C, how long in-flight requests may finish"),
];

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_secs(name: &str, default: u64, errors: &mut Vec<String>) -> u64 {
    match var(name) {
        None => default,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                errors.push(format!("{name}={v:?} must be a positive whole number"));
                default
            }
        },
    }
}

fn parse_addr(name: &str, value: &str, errors: &mut Vec<String>) -> Option<SocketAddr> {
    match value.parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            errors.push(format!(
                "{name}={value:?} must be an address like 127.0.0.1:3000"
            ));
            None
        }
    }
}

/// Where the built site lives when `LEPTOS_SITE_ROOT` is not set: next to a
/// `target/<profile>/regen-admin` binary, else `target/site` under the
/// working directory.
fn default_site_root() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/regen-admin -> target/site
        if let Some(target) = exe.parent().and_then(|p| p.parent()) {
            let candidate = target.join("site");
            if candidate.join("pkg").is_dir() {
                return candidate;
            }
        }
    }
    PathBuf::from("target/site")
}

pub fn default_fallback_path(database_url: &str) -> PathBuf {
    let sqlite_path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest));
    match sqlite_path.and_then(|p| std::path::Path::new(p).parent().map(PathBuf::from)) {
        Some(dir) => dir.join("audit-fallback.jsonl"),
        None => PathBuf::from("data/audit-fallback.jsonl"),
    }
}

impl Config {
    /// Reads and validates the environment; every problem, not just the first.
    pub fn from_env() -> Result<Config, Vec<String>> {
        let mut errors = Vec::new();
        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if regen_service::database_kind(&database_url).is_none() {
            errors.push("DATABASE_URL must start with sqlite: or postgres://".to_owned());
        }
        let site_addr = parse_addr(
            "LEPTOS_SITE_ADDR",
            &var("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into()),
            &mut errors,
        )
        .unwrap_or_else(|| "127.0.0.1:3000".parse().expect("valid default"));
        let metrics_addr = var("REGEN_METRICS_ADDR")
            .and_then(|v| parse_addr("REGEN_METRICS_ADDR", &v, &mut errors));
        let public_origin = var("REGEN_PUBLIC_ORIGIN").map(|v| v.trim_end_matches('/').to_owned());
        if let Some(origin) = &public_origin {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                errors.push(format!(
                    "REGEN_PUBLIC_ORIGIN={origin:?} must start with http:// or https://"
                ));
            }
        }
        if public_origin.is_none() && !site_addr.ip().is_loopback() {
            errors.push(format!(
                "REGEN_PUBLIC_ORIGIN must be set when listening on {site_addr} (not a loopback address), e.g. REGEN_PUBLIC_ORIGIN=https://regen.example.com"
            ));
        }
        let client_ip_header = var("REGEN_CLIENT_IP_HEADER").map(|h| h.trim().to_lowercase());
        if let Some(header) = &client_ip_header {
            if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                errors.push(format!(
                    "REGEN_CLIENT_IP_HEADER={header:?} is not a header name"
                ));
            }
        }
        let log_format = match var("REGEN_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!("REGEN_LOG_FORMAT={other:?} must be text or json"));
                LogFormat::Text
            }
        };
        let env_label = var("REGEN_ENV_LABEL");
        let env_color = var("REGEN_ENV_COLOR").unwrap_or_else(|| {
            if env_label
                .as_deref()
                .is_some_and(|l| l.to_lowercase().starts_with("prod"))
            {
                "#b91c1c".into()
            } else {
                "#1d4ed8".into()
            }
        });
        if !env_color
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "#(),. %".contains(c))
        {
            errors.push(format!("REGEN_ENV_COLOR={env_color:?} is not a CSS colour"));
        }
        let sessions = SessionPolicy {
            idle_timeout: Duration::from_secs(parse_secs(
                "REGEN_SESSION_IDLE_SECS",
                3600,
                &mut errors,
            )),
            absolute_lifetime: Duration::from_secs(parse_secs(
                "REGEN_SESSION_MAX_SECS",
                43_200,
                &mut errors,
            )),
        };
        let login_throttle = LoginThrottle {
            window: Duration::from_secs(parse_secs("REGEN_LOGIN_WINDOW_SECS", 900, &mut errors)),
            max_failures: parse_secs("REGEN_LOGIN_ADDRESS_FAILURES", 10, &mut errors) as usize,
            free_attempts: parse_secs("REGEN_LOGIN_FREE_ATTEMPTS", 3, &mut errors) as usize,
            ..LoginThrottle::default()
        };
        let db_max_connections = parse_secs("REGEN_DB_MAX_CONNECTIONS", 10, &mut errors) as u32;
        let db_acquire_timeout =
            Duration::from_millis(parse_secs("REGEN_DB_TIMEOUT_MS", 5000, &mut errors));
        let shutdown_grace =
            Duration::from_secs(parse_secs("REGEN_SHUTDOWN_GRACE_SECS", 20, &mut errors));
        let audit_fallback_path = var("REGEN_AUDIT_FALLBACK_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| default_fallback_path(&database_url));
        let site_root = var("LEPTOS_SITE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(default_site_root);
        if errors.is_empty() {
            Ok(Config {
                database_url,
                site_addr,
                site_root,
                public_origin,
                client_ip_header,
                env_label,
                env_color,
                audit_fallback_path,
                sessions,
                login_throttle,
                db_max_connections,
                db_acquire_timeout,
                metrics_addr,
                log_format,
                shutdown_grace,
            })
        } else {
            Err(errors)
        }
    }

    /// A configuration for tests: everything explicit, nothing from the
    /// environment.
    pub fn for_tests(database_url: &str, site_root: PathBuf, fallback: PathBuf) -> Config {
        Config {
            database_url: database_url.to_owned(),
            site_addr: "127.0.0.1:0".parse().expect("valid"),
            site_root,
            public_origin: None,
            client_ip_header: None,
            env_label: Some("test".into()),
            env_color: "#1d4ed8".into(),
            audit_fallback_path: fallback,
            sessions: SessionPolicy::default(),
            login_throttle: LoginThrottle::default(),
            db_max_connections: 10,
            db_acquire_timeout: Duration::from_secs(5),
            metrics_addr: None,
            log_format: LogFormat::Text,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    pub fn service_settings(&self) -> regen_service::ServiceSettings {
        regen_service::ServiceSettings {
            database_url: self.database_url.clone(),
            max_connections: self.db_max_connections,
            acquire_timeout: self.db_acquire_timeout,
            audit_fallback_path: self.audit_fallback_path.clone(),
            sessions: self.sessions,
            login_throttle: self.login_throttle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_documents_every_setting() {
        let readme = include_str!("../../README.md");
        for (name, _, _) in SETTINGS {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "{name} is missing from the README table"
            );
        }
    }

    #[test]
    fn the_fallback_journal_sits_next_to_the_sqlite_file() {
        assert_eq!(
            default_fallback_path("sqlite://var/lib/regen/db.sqlite?mode=rwc"),
            PathBuf::from("var/lib/regen/audit-fallback.jsonl")
        );
        assert_eq!(
            default_fallback_path("postgres://x@y/z"),
            PathBuf::from("data/audit-fallback.jsonl")
        );
    }
}
