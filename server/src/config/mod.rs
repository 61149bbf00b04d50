//! The server's configuration: [`Settings`] as clap parsed them, with the
//! defaults that depend on other settings filled in and what no single value
//! can say checked (a listener beyond loopback needs its public origin).

mod settings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regen_service::{LoginThrottle, Redaction, SessionPolicy};

pub use settings::{
    ignoring_blank_variables, malformed_variables, DatabaseUrl, LogFormat, Settings,
};

/// How long an export may run, and how long its client may stop reading.
#[derive(Debug, Clone, Copy)]
pub struct ExportLimits {
    pub max_duration: Duration,
    pub idle: Duration,
}

impl Default for ExportLimits {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(900),
            idle: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
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
    /// `REGEN_TARGET_URL_TEMPLATES`: empty when unset.
    pub target_links: regen_domain::TargetLinks,
    pub audit_fallback_path: PathBuf,
    pub sessions: SessionPolicy,
    pub login_throttle: LoginThrottle,
    pub exports: ExportLimits,
    /// The most jobs one bulk trigger may name or select.
    pub bulk_trigger_max: usize,
    /// What is hidden of every payload on its way out.
    pub redaction: Redaction,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub metrics_addr: Option<SocketAddr>,
    pub log_format: LogFormat,
    /// `RUST_LOG`; unset, each command logs what it needs.
    pub log_filter: Option<String>,
    pub shutdown_grace: Duration,
    pub connections: ConnectionLimits,
}

/// What each listener allows its clients, so that slow or silent ones hold
/// a connection for a bounded time and cannot crowd out the rest.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From a connection's start or its previous answer's end to the end of
    /// the next request's headers.
    pub header_read_timeout: Duration,
    pub max_connections: usize,
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

fn default_fallback_path(database_url: &str) -> PathBuf {
    let sqlite_path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest));
    match sqlite_path.and_then(|p| std::path::Path::new(p).parent().map(PathBuf::from)) {
        Some(dir) => dir.join("audit-fallback.jsonl"),
        None => PathBuf::from("data/audit-fallback.jsonl"),
    }
}

/// Red for production, so nobody mistakes it for a test instance.
fn default_colour(env_label: Option<&str>) -> String {
    if env_label.is_some_and(|label| label.to_lowercase().starts_with("prod")) {
        "#b91c1c".into()
    } else {
        "#1d4ed8".into()
    }
}

/// Whether an origin (`scheme://host[:port]`) names this machine.
fn origin_is_loopback(origin: &str) -> bool {
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Config {
    /// Fills in the defaults that depend on other settings, and checks what
    /// no single value can say: a listener beyond loopback needs its public
    /// origin.
    pub fn from_settings(settings: Settings) -> Result<Config, String> {
        if settings.public_origin.is_none() && !settings.site_addr.ip().is_loopback() {
            return Err(format!(
                "REGEN_PUBLIC_ORIGIN must be set when listening on {} (not a loopback address), e.g. REGEN_PUBLIC_ORIGIN=https://regen.example.com",
                settings.site_addr
            ));
        }
        let env_color = settings
            .env_color
            .unwrap_or_else(|| default_colour(settings.env_label.as_deref()));
        let audit_fallback_path = settings
            .audit_fallback_path
            .unwrap_or_else(|| default_fallback_path(settings.database_url.as_str()));
        Ok(Config {
            site_root: settings.site_root.unwrap_or_else(default_site_root),
            site_addr: settings.site_addr,
            public_origin: settings.public_origin,
            client_ip_header: settings.client_ip_header,
            env_label: settings.env_label,
            env_color,
            target_links: settings.target_url_templates.unwrap_or_default(),
            audit_fallback_path,
            sessions: SessionPolicy {
                idle_timeout: Duration::from_secs(settings.session_idle_secs),
                absolute_lifetime: Duration::from_secs(settings.session_max_secs),
            },
            login_throttle: LoginThrottle {
                window: Duration::from_secs(settings.login_window_secs),
                max_failures: settings.login_address_failures,
                free_attempts: settings.login_free_attempts,
                ..LoginThrottle::default()
            },
            exports: ExportLimits {
                max_duration: Duration::from_secs(settings.export_max_seconds),
                idle: Duration::from_secs(settings.export_idle_seconds),
            },
            bulk_trigger_max: settings.bulk_trigger_max,
            redaction: Redaction::new(
                settings.redact_keys.unwrap_or_default(),
                settings.redact_value_patterns.unwrap_or_default(),
            ),
            db_max_connections: settings.db_max_connections,
            db_acquire_timeout: Duration::from_millis(settings.db_timeout_ms),
            metrics_addr: settings.metrics_addr,
            log_format: settings.log_format,
            log_filter: settings.log_filter,
            shutdown_grace: Duration::from_secs(settings.shutdown_grace_secs),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_millis(settings.header_read_timeout_ms),
                max_connections: settings.max_connections as usize,
            },
            database_url: settings.database_url,
        })
    }

    /// A configuration for tests: everything explicit, nothing from the
    /// environment.
    pub fn for_tests(database_url: &str, site_root: PathBuf, fallback: PathBuf) -> Config {
        Config {
            database_url: DatabaseUrl(database_url.to_owned()),
            site_addr: "127.0.0.1:0".parse().expect("valid"),
            site_root,
            public_origin: None,
            client_ip_header: None,
            env_label: Some("test".into()),
            env_color: "#1d4ed8".into(),
            target_links: regen_domain::TargetLinks::default(),
            audit_fallback_path: fallback,
            sessions: SessionPolicy::default(),
            login_throttle: LoginThrottle::default(),
            exports: ExportLimits::default(),
            bulk_trigger_max: 1000,
            redaction: Redaction::default(),
            db_max_connections: 10,
            db_acquire_timeout: Duration::from_secs(5),
            metrics_addr: None,
            log_format: LogFormat::Text,
            log_filter: None,
            shutdown_grace: Duration::from_secs(5),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(10),
                max_connections: 1024,
            },
        }
    }

    /// The warning start-up logs when the login throttle will see every
    /// client as one: browsers reach a public origin off loopback, so
    /// probably through a proxy, and no header says who is behind it.
    pub fn shared_address_warning(&self) -> Option<String> {
        let origin = self.public_origin.as_deref()?;
        if self.client_ip_header.is_some() || origin_is_loopback(origin) {
            return None;
        }
        Some(format!(
            "REGEN_PUBLIC_ORIGIN is {origin} but REGEN_CLIENT_IP_HEADER is not set: behind a proxy every client shares one address for the login throttle, and {} failed logins lock out every browser without a device cookie",
            self.login_throttle.max_failures
        ))
    }

    pub fn service_settings(&self) -> regen_service::ServiceSettings {
        regen_service::ServiceSettings {
            database_url: self.database_url.as_str().to_owned(),
            max_connections: self.db_max_connections,
            acquire_timeout: self.db_acquire_timeout,
            audit_fallback_path: self.audit_fallback_path.clone(),
            sessions: self.sessions,
            login_throttle: self.login_throttle,
            bulk_trigger_max: self.bulk_trigger_max,
            redaction: self.redaction.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_never_reaches_debug_output() {
        let url: DatabaseUrl = "postgres://regen:s3cret@db.internal:5432/regen?password=s3cret"
            .parse()
            .unwrap();
        let config = Config::for_tests(url.as_str(), PathBuf::new(), PathBuf::new());
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgres://db.internal:5432/regen"),
            "{shown}"
        );
    }

    #[test]
    fn only_a_public_origin_off_loopback_without_a_client_address_header_is_warned_about() {
        let warned = |origin: Option<&str>, header: Option<&str>| {
            let mut config = Config::for_tests("sqlite://x", PathBuf::new(), PathBuf::new());
            config.public_origin = origin.map(str::to_owned);
            config.client_ip_header = header.map(str::to_owned);
            config.shared_address_warning().is_some()
        };
        assert!(warned(Some("https://regen.example.com"), None));
        assert!(warned(Some("http://10.0.0.5:3000"), None));
        assert!(!warned(
            Some("https://regen.example.com"),
            Some("x-forwarded-for")
        ));
        assert!(!warned(None, None));
        for loopback in [
            "http://localhost:3000",
            "http://127.0.0.2",
            "http://[::1]:8080",
        ] {
            assert!(!warned(Some(loopback), None), "{loopback}");
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
