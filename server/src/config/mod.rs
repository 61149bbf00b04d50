//! The server's configuration: [`Settings`] as clap parsed them, with the
//! defaults that depend on other settings filled in and what no single value
//! can say checked (a listener beyond loopback needs its public origin).

mod settings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regen_service::{LoginThrottle, Redaction, SessionPolicy};

pub use settings::{
    ignoring_blank_variables, malformed_variables, CommaSeparated, DatabaseUrl, LogFormat, Settings,
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
    /// `REGEN_PASSWORD_LOGIN`: whether the login page shows the password
    /// form (`/login?local` always does).
    pub password_login: bool,
    /// Sign-in through an OpenID provider, when `REGEN_OIDC_ISSUER` is set.
    pub sso: Option<SsoConfig>,
}

/// The `REGEN_OIDC_*` settings, checked. Its Debug form leaves out the
/// client secret.
#[derive(Clone)]
pub struct SsoConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub admin_claim: String,
    pub admin_values: Vec<String>,
    pub username_claim: String,
    pub provider_name: String,
    pub max_session: Duration,
    pub retry_interval: Duration,
}

impl std::fmt::Debug for SsoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("admin_claim", &self.admin_claim)
            .field("admin_values", &self.admin_values)
            .finish_non_exhaustive()
    }
}

impl SsoConfig {
    /// Longest wait for each call to the provider (discovery, keys, token,
    /// userinfo): a sign-in never hangs on a provider that does not answer.
    const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

    /// The service's settings, for an instance reached at `origin`.
    pub fn settings(&self, origin: &str) -> regen_service::SsoSettings {
        regen_service::SsoSettings {
            oidc: regen_service::OidcSettings {
                issuer: self.issuer.clone(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
                scopes: self.scopes.clone(),
                redirect_url: format!("{origin}/auth/oidc/callback"),
                retry_interval: self.retry_interval,
                http_timeout: Self::HTTP_TIMEOUT,
                max_clock_skew: Duration::from_secs(60),
            },
            policy: regen_service::SsoPolicy {
                provider_name: self.provider_name.clone(),
                admin_claim: self.admin_claim.clone(),
                admin_values: self.admin_values.clone(),
                username_claim: self.username_claim.clone(),
                max_session: self.max_session,
            },
        }
    }

    /// Checks the `REGEN_OIDC_*` settings together; `None` when SSO is off.
    fn from_settings(settings: &Settings) -> Result<Option<SsoConfig>, String> {
        let Some(issuer) = settings.oidc_issuer.clone() else {
            if !settings.password_login {
                return Err("REGEN_PASSWORD_LOGIN=off needs REGEN_OIDC_ISSUER: without either, only /login?local could sign anyone in".into());
            }
            return Ok(None);
        };
        let required = |value: Option<&str>, name: &str, why: &str| {
            value
                .map(str::to_owned)
                .ok_or_else(|| format!("{name} must be set with REGEN_OIDC_ISSUER: {why}"))
        };
        let client_id = required(
            settings.oidc_client_id.as_deref(),
            "REGEN_OIDC_CLIENT_ID",
            "the provider knows regen-admin by it",
        )?;
        let admin_claim = required(
            settings.oidc_admin_claim.as_deref(),
            "REGEN_OIDC_ADMIN_CLAIM",
            "without it nobody could be an admin",
        )?;
        let admin_values = settings
            .oidc_admin_values
            .clone()
            .map(|values| values.0)
            .ok_or("REGEN_OIDC_ADMIN_VALUES must be set with REGEN_OIDC_ISSUER: without it nobody could be an admin")?;
        let client_secret = match (
            &settings.oidc_client_secret,
            &settings.oidc_client_secret_file,
        ) {
            (Some(_), Some(_)) => {
                return Err(
                    "set REGEN_OIDC_CLIENT_SECRET or REGEN_OIDC_CLIENT_SECRET_FILE, not both"
                        .into(),
                )
            }
            (Some(secret), None) => Some(secret.clone()),
            (None, Some(path)) => {
                let secret = std::fs::read_to_string(path).map_err(|error| {
                    format!("REGEN_OIDC_CLIENT_SECRET_FILE={}: {error}", path.display())
                })?;
                let secret = secret.trim().to_owned();
                if secret.is_empty() {
                    return Err(format!(
                        "REGEN_OIDC_CLIENT_SECRET_FILE={} is empty",
                        path.display()
                    ));
                }
                Some(secret)
            }
            (None, None) => None,
        };
        let provider_name = settings.oidc_provider_name.clone().unwrap_or_else(|| {
            url::Url::parse(&issuer)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_else(|| issuer.clone())
        });
        Ok(Some(SsoConfig {
            issuer,
            client_id,
            client_secret,
            scopes: settings
                .oidc_scopes
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            admin_claim,
            admin_values,
            username_claim: settings.oidc_username_claim.clone(),
            provider_name,
            max_session: settings.oidc_max_session,
            retry_interval: Duration::from_secs(settings.oidc_retry_seconds),
        }))
    }
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
        let sso = SsoConfig::from_settings(&settings)?;
        let env_color = settings
            .env_color
            .unwrap_or_else(|| default_colour(settings.env_label.as_deref()));
        let audit_fallback_path = settings
            .audit_fallback_path
            .unwrap_or_else(|| default_fallback_path(settings.database_url.as_str()));
        Ok(Config {
            password_login: settings.password_login,
            sso,
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
            password_login: true,
            sso: None,
        }
    }

    /// Where browsers reach this instance: `REGEN_PUBLIC_ORIGIN`, else the
    /// loopback address it listens on.
    pub fn origin(&self) -> String {
        self.public_origin
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.site_addr))
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

    /// The settings as `regen-admin serve ARGS` reads them (no environment).
    fn settings(args: &[&str]) -> Settings {
        use clap::Parser;
        let mut all = vec!["regen-admin", "serve"];
        all.extend_from_slice(args);
        crate::cli::Cli::try_parse_from(all)
            .expect("valid flags")
            .settings
    }

    #[test]
    fn sso_reads_its_client_secret_from_a_file_and_names_its_provider_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "  from-the-file\n").unwrap();
        let path = file.to_string_lossy().into_owned();
        let config = Config::from_settings(settings(&[
            "--oidc-issuer",
            "https://login.example.com/realms/staff",
            "--oidc-client-id",
            "regen-admin",
            "--oidc-client-secret-file",
            &path,
            "--oidc-admin-claim",
            "realm_access.roles",
            "--oidc-admin-values",
            "regen-admins, ops ,",
        ]))
        .unwrap();
        let sso = config.sso.expect("SSO is on");
        assert_eq!(sso.client_secret.as_deref(), Some("from-the-file"));
        assert_eq!(sso.provider_name, "login.example.com");
        assert_eq!(sso.admin_values, ["regen-admins", "ops"]);
        assert_eq!(sso.scopes, ["openid", "profile", "email"]);
        assert_eq!(sso.max_session, Duration::from_secs(12 * 3600));
        assert_eq!(sso.retry_interval, Duration::from_secs(60));
        assert!(config.password_login);
        assert!(!format!("{sso:?}").contains("from-the-file"));
        let settings = sso.settings("https://regen.example.com");
        assert_eq!(
            settings.oidc.redirect_url,
            "https://regen.example.com/auth/oidc/callback"
        );
    }

    #[test]
    fn without_an_issuer_sso_is_off() {
        let config = Config::from_settings(settings(&[])).unwrap();
        assert!(config.sso.is_none());
        assert!(config.password_login);
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
