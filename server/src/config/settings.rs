//! Every setting, declared once as a clap argument: its environment
//! variable, flag, default, unit (the value name) and meaning. `regen-admin
//! serve --help` and the README's configuration table both come from here (a
//! test keeps the README equal to it), and each value is parsed here, so a
//! malformed one is named on one line before anything listens.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, ValueEnum};
use regen_domain::TargetLinks;
use regen_service::{RedactKeys, ValuePatterns};

const DEFAULT_DATABASE_URL: &str = "sqlite://data/regen-admin.db";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The database URL. Its Debug form leaves out the user part and the query,
/// where a PostgreSQL URL carries its password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub(super) String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<DatabaseUrl, String> {
        match regen_service::database_kind(text) {
            Some(_) => Ok(DatabaseUrl(text.to_owned())),
            None => Err("must start with sqlite: or postgres://".to_owned()),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let without_query = self.0.split('?').next().unwrap_or_default();
        let shown = match without_query.split_once("://") {
            Some((scheme, rest)) => {
                let place = rest.rsplit_once('@').map_or(rest, |(_, place)| place);
                format!("{scheme}://{place}")
            }
            None => without_query.to_owned(),
        };
        f.debug_tuple("DatabaseUrl").field(&shown).finish()
    }
}

/// Every setting of the server. Global, so each command reads them from its
/// environment (or flags) the same way, and `--help` lists them under
/// "Settings". Each doc comment is the setting's help and its README row.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Settings")]
pub struct Settings {
    /// `sqlite://PATH` (file and directory created on first use) or
    /// `postgres://USER@HOST:PORT/DB`
    #[arg(long, global = true, env = "DATABASE_URL", value_name = "URL",
        default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: DatabaseUrl,

    /// address the web server listens on
    #[arg(long, global = true, env = "LEPTOS_SITE_ADDR", value_name = "ADDRESS",
        default_value = "127.0.0.1:3000", value_parser = address)]
    pub site_addr: SocketAddr,

    /// built site files (WASM, JS, CSS); unset: `target/site` next to the
    /// binary, else in the working directory
    #[arg(long, global = true, env = "LEPTOS_SITE_ROOT", value_name = "PATH")]
    pub site_root: Option<PathBuf>,

    /// browser-facing origin, e.g. `https://regen.example.com`; required when
    /// listening on anything but loopback (unset: the loopback names of the
    /// port). The only origin accepted for cookie-authenticated writes;
    /// `https` makes the session cookie Secure and turns on HSTS
    #[arg(long, global = true, env = "REGEN_PUBLIC_ORIGIN", value_name = "ORIGIN",
        value_parser = origin)]
    pub public_origin: Option<String>,

    /// header a trusted proxy sets with the client address, e.g.
    /// `x-forwarded-for` (its right-most entry is used); unset: the TCP peer
    /// address. Login throttling is per client address, so set this behind a
    /// load balancer (start-up warns when `REGEN_PUBLIC_ORIGIN` is not
    /// loopback and this is unset)
    #[arg(long, global = true, env = "REGEN_CLIENT_IP_HEADER", value_name = "HEADER",
        value_parser = header_name)]
    pub client_ip_header: Option<String>,

    /// environment banner text, e.g. `production`; unset: no banner
    #[arg(long, global = true, env = "REGEN_ENV_LABEL", value_name = "TEXT")]
    pub env_label: Option<String>,

    /// banner colour, a CSS colour; unset: `#b91c1c` when the label starts
    /// with `prod`, else `#1d4ed8`
    #[arg(long, global = true, env = "REGEN_ENV_COLOR", value_name = "COLOUR",
        value_parser = css_colour)]
    pub env_color: Option<String>,

    /// links from a job to its target where it lives: comma-separated
    /// `targetType=URL` pairs, each URL holding `{targetId}` (put in
    /// percent-encoded as a path segment), e.g.
    /// `article=https://cms.example.com/articles/{targetId}`; only `https`
    /// and `http`. The detail page shows "Open target" and the list page
    /// links the target id, for the types listed; unset: no links
    #[arg(long, global = true, env = "REGEN_TARGET_URL_TEMPLATES", value_name = "TYPE=URL,…",
        value_parser = target_url_templates)]
    pub target_url_templates: Option<TargetLinks>,

    /// JSON-lines journal for audit events the database refused; unset:
    /// `audit-fallback.jsonl` next to the SQLite file, else
    /// `data/audit-fallback.jsonl`
    #[arg(
        long,
        global = true,
        env = "REGEN_AUDIT_FALLBACK_PATH",
        value_name = "PATH"
    )]
    pub audit_fallback_path: Option<PathBuf>,

    /// a session unused this long ends
    #[arg(long, global = true, env = "REGEN_SESSION_IDLE_SECS", value_name = "SECONDS",
        default_value = "3600", value_parser = positive::<u64>)]
    pub session_idle_secs: u64,

    /// a session ends this long after login
    #[arg(long, global = true, env = "REGEN_SESSION_MAX_SECS", value_name = "SECONDS",
        default_value = "43200", value_parser = positive::<u64>)]
    pub session_max_secs: u64,

    /// login throttle: the sliding window failed logins are counted in.
    /// Attempts are kept in the database (`login_attempts`), so every
    /// instance and every restart shares them
    #[arg(long, global = true, env = "REGEN_LOGIN_WINDOW_SECS", value_name = "SECONDS",
        default_value = "900", value_parser = positive::<u64>)]
    pub login_window_secs: u64,

    /// login throttle: failed logins one client address may have in the
    /// window, whatever user names it tries
    #[arg(long, global = true, env = "REGEN_LOGIN_ADDRESS_FAILURES", value_name = "COUNT",
        default_value = "10", value_parser = positive::<usize>)]
    pub login_address_failures: usize,

    /// login throttle: failures for one user name from one address before
    /// each further try waits 1 s, 2 s, 4 s… (doubling). A storm of 20
    /// failures for one name from all addresses is logged and counted, and
    /// then that name takes one try per 2 s. A browser holding the device
    /// cookie of an earlier login as that user is counted on its own (the
    /// same free tries and doubling), so neither its address nor a storm
    /// holds it back
    #[arg(long, global = true, env = "REGEN_LOGIN_FREE_ATTEMPTS", value_name = "COUNT",
        default_value = "3", value_parser = positive::<usize>)]
    pub login_free_attempts: usize,

    /// the password form on the login page: `on` or `off`. `off` hides it
    /// (for sign-in through the OpenID provider only); `/login?local` still
    /// shows it, for a break-glass admin the CLI created
    #[arg(long, global = true, env = "REGEN_PASSWORD_LOGIN", value_name = "on|off",
        default_value = "on", value_parser = on_off)]
    pub password_login: bool,

    /// OpenID Connect provider (issuer URL, e.g.
    /// `https://login.example.com/realms/staff`): turns on "Sign in with …"
    /// (code flow with PKCE), discovered through its
    /// `/.well-known/openid-configuration` at start-up. The callback is
    /// `REGEN_PUBLIC_ORIGIN/auth/oidc/callback`. Unset: no SSO
    #[arg(long, global = true, env = "REGEN_OIDC_ISSUER", value_name = "URL",
        value_parser = issuer_url)]
    pub oidc_issuer: Option<String>,

    /// the client id registered at the provider (required with the issuer)
    #[arg(long, global = true, env = "REGEN_OIDC_CLIENT_ID", value_name = "ID")]
    pub oidc_client_id: Option<String>,

    /// the client's secret; unset: `REGEN_OIDC_CLIENT_SECRET_FILE`, else a
    /// public client (PKCE alone)
    #[arg(
        long,
        global = true,
        env = "REGEN_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,

    /// a file holding the client's secret (one line), read at start-up
    #[arg(
        long,
        global = true,
        env = "REGEN_OIDC_CLIENT_SECRET_FILE",
        value_name = "PATH"
    )]
    pub oidc_client_secret_file: Option<PathBuf>,

    /// scopes asked for, space-separated (`openid` is always asked)
    #[arg(
        long,
        global = true,
        env = "REGEN_OIDC_SCOPES",
        value_name = "SCOPES",
        default_value = "openid profile email"
    )]
    pub oidc_scopes: String,

    /// the claim that makes an admin, a dotted path for nested claims, e.g.
    /// `groups` or `realm_access.roles` (read from the ID token, then from
    /// userinfo); required with the issuer. It is read at every sign-in:
    /// without a match the sign-in is refused (403), and an account that
    /// lost it becomes a member, its sessions and tokens ended
    #[arg(
        long,
        global = true,
        env = "REGEN_OIDC_ADMIN_CLAIM",
        value_name = "CLAIM"
    )]
    pub oidc_admin_claim: Option<String>,

    /// the claim values that make an admin, comma-separated, matched exactly
    /// (a string claim, or any item of a list); required with the issuer
    #[arg(long, global = true, env = "REGEN_OIDC_ADMIN_VALUES", value_name = "VALUES",
        value_parser = comma_separated)]
    pub oidc_admin_values: Option<CommaSeparated>,

    /// the claim a new SSO account takes its name from (`email` when it is
    /// missing). The account is keyed by issuer and subject, never by name;
    /// a name a local account (or another SSO account) has gets `-sso`,
    /// `-sso-2`… appended
    #[arg(
        long,
        global = true,
        env = "REGEN_OIDC_USERNAME_CLAIM",
        value_name = "CLAIM",
        default_value = "preferred_username"
    )]
    pub oidc_username_claim: String,

    /// the provider's name on the login page ("Sign in with …"); unset: the
    /// issuer's host
    #[arg(
        long,
        global = true,
        env = "REGEN_OIDC_PROVIDER_NAME",
        value_name = "TEXT"
    )]
    pub oidc_provider_name: Option<String>,

    /// longest life of a session opened through SSO, whatever the provider
    /// says (`90m`, `12h`, `1d`; a bare number is seconds); also at most
    /// `REGEN_SESSION_MAX_SECS`
    #[arg(long, global = true, env = "REGEN_OIDC_MAX_SESSION", value_name = "DURATION",
        default_value = "12h", value_parser = duration)]
    pub oidc_max_session: std::time::Duration,

    /// when discovery fails (the provider is down at start-up), the sign-in
    /// button answers 503 and a sign-in tries discovery again, at most this
    /// often (no background task)
    #[arg(long, global = true, env = "REGEN_OIDC_RETRY_SECONDS", value_name = "SECONDS",
        default_value = "60", value_parser = positive::<u64>)]
    pub oidc_retry_seconds: u64,

    /// an export (CSV, NDJSON) running longer than this is cut off, its
    /// stream ended with an error
    #[arg(long, global = true, env = "REGEN_EXPORT_MAX_SECONDS", value_name = "SECONDS",
        default_value = "900", value_parser = positive::<u64>)]
    pub export_max_seconds: u64,

    /// an export whose client takes no data for this long is ended and its
    /// database reads released, the stream ended with an error
    #[arg(long, global = true, env = "REGEN_EXPORT_IDLE_SECONDS", value_name = "SECONDS",
        default_value = "60", value_parser = positive::<u64>)]
    pub export_idle_seconds: u64,

    /// the most jobs one bulk trigger (`POST …/bulk-trigger`, the list
    /// page's "Trigger selected" and "Trigger all") may name or select; more
    /// is refused with 413 and nothing is triggered
    #[arg(long, global = true, env = "REGEN_BULK_TRIGGER_MAX", value_name = "COUNT",
        default_value = "1000", value_parser = positive::<usize>)]
    pub bulk_trigger_max: usize,

    /// object keys, comma-separated, whose values are hidden wherever a
    /// payload leaves the server (viewer, download, API, export, CLI), e.g.
    /// `password,apiKey,token`: in any case, at any depth, inside arrays
    /// too; the whole value becomes `"[REDACTED]"`, every other byte stays
    /// as stored. Unset: nothing is hidden
    #[arg(long, global = true, env = "REGEN_REDACT_KEYS", value_name = "KEYS")]
    pub redact_keys: Option<RedactKeys>,

    /// regular expressions (Rust `regex` syntax), comma-separated: a string
    /// value one of them matches is hidden the same way, e.g. `^sk_live_`. A
    /// comma inside `[]`, `{}` or `()` stays in its pattern; elsewhere write
    /// `\,`. An invalid pattern stops start-up
    #[arg(
        long,
        global = true,
        env = "REGEN_REDACT_VALUE_PATTERNS",
        value_name = "PATTERNS"
    )]
    pub redact_value_patterns: Option<ValuePatterns>,

    /// database pool size per instance: every connection it opens, on
    /// either backend (`regen_db_pool_max_connections` reports it)
    #[arg(long, global = true, env = "REGEN_DB_MAX_CONNECTIONS", value_name = "COUNT",
        default_value = "10", value_parser = positive::<u32>)]
    pub db_max_connections: u32,

    /// longest wait for a pooled connection or a lock before answering 503;
    /// a trigger's waits (its turn on SQLite, a connection, the lock)
    /// together; nothing is retried
    #[arg(long, global = true, env = "REGEN_DB_TIMEOUT_MS", value_name = "MILLISECONDS",
        default_value = "5000", value_parser = positive::<u64>)]
    pub db_timeout_ms: u64,

    /// extra listener serving only `/metrics` (e.g. `127.0.0.1:9100`); unset:
    /// none, and `/metrics` needs an admin token
    #[arg(long, global = true, env = "REGEN_METRICS_ADDR", value_name = "ADDRESS",
        value_parser = address)]
    pub metrics_addr: Option<SocketAddr>,

    /// `text` or `json` (one line per request: request id, the client's own
    /// request id, route, status, latency, user id)
    #[arg(
        long,
        global = true,
        env = "REGEN_LOG_FORMAT",
        value_name = "FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// log filter in `tracing`'s syntax, e.g. `debug` or
    /// `info,regen_admin=debug`; unset: `info,sqlx=warn` for the server,
    /// warnings and security events for account commands
    #[arg(long, global = true, env = "RUST_LOG", value_name = "FILTER")]
    pub log_filter: Option<String>,

    /// time a client has to send a request's headers, counted from when the
    /// connection opens or its previous answer ends (so it also closes idle
    /// keep-alive connections); then the connection is closed
    #[arg(long, global = true, env = "REGEN_HEADER_READ_TIMEOUT_MS", value_name = "MILLISECONDS",
        default_value = "10000", value_parser = positive::<u64>)]
    pub header_read_timeout_ms: u64,

    /// connections each listener serves at once; further ones wait in the
    /// kernel's accept queue until one closes, and are then served
    #[arg(long, global = true, env = "REGEN_MAX_CONNECTIONS", value_name = "COUNT",
        default_value = "1024", value_parser = positive::<u32>)]
    pub max_connections: u32,

    /// on SIGTERM/Ctrl-C, how long in-flight requests may finish
    #[arg(long, global = true, env = "REGEN_SHUTDOWN_GRACE_SECS", value_name = "SECONDS",
        default_value = "20", value_parser = positive::<u64>)]
    pub shutdown_grace_secs: u64,
}

fn positive<T: FromStr + PartialOrd + Default>(text: &str) -> Result<T, String> {
    match text.parse::<T>() {
        Ok(number) if number > T::default() => Ok(number),
        _ => Err("must be a positive whole number".to_owned()),
    }
}

fn on_off(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("must be on or off".to_owned()),
    }
}

/// `90s`, `30m`, `12h`, `1d`, or a bare number of seconds; more than zero.
fn duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && seconds_per > 0 => n
            .checked_mul(seconds_per)
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| "is too long".to_owned()),
        _ => Err("must be a duration like 90m, 12h or 1d".to_owned()),
    }
}

/// An issuer is an `https` URL (or `http`, for a provider on this machine).
fn issuer_url(text: &str) -> Result<String, String> {
    let issuer = text.trim();
    match url::Url::parse(issuer) {
        Ok(url) if url.scheme() == "https" && url.host().is_some() => Ok(issuer.to_owned()),
        Ok(url) if url.scheme() == "http" && url.host().is_some() => Ok(issuer.to_owned()),
        _ => Err("must be an https:// URL".to_owned()),
    }
}

/// Comma-separated values, each trimmed, none empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommaSeparated(pub Vec<String>);

fn comma_separated(text: &str) -> Result<CommaSeparated, String> {
    let values: Vec<String> = text
        .split(',')
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .collect();
    if values.is_empty() {
        Err("must hold at least one value".to_owned())
    } else {
        Ok(CommaSeparated(values))
    }
}

fn address(text: &str) -> Result<SocketAddr, String> {
    text.parse()
        .map_err(|_| "must be an address like 127.0.0.1:3000".to_owned())
}

fn origin(text: &str) -> Result<String, String> {
    let origin = text.trim_end_matches('/');
    if origin.starts_with("http://") || origin.starts_with("https://") {
        Ok(origin.to_owned())
    } else {
        Err("must start with http:// or https://".to_owned())
    }
}

fn target_url_templates(text: &str) -> Result<TargetLinks, String> {
    text.parse()
}

fn header_name(text: &str) -> Result<String, String> {
    let header = text.trim().to_lowercase();
    match axum::http::HeaderName::from_bytes(header.as_bytes()) {
        Ok(_) => Ok(header),
        Err(_) => Err("is not a header name".to_owned()),
    }
}

fn css_colour(text: &str) -> Result<String, String> {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "#(),. %".contains(c))
    {
        Ok(text.to_owned())
    } else {
        Err("is not a CSS colour".to_owned())
    }
}

/// A variable that is set but blank counts as unset, as an operator's
/// `REGEN_METRICS_ADDR=` means: clap would parse the empty text.
pub fn ignoring_blank_variables(command: clap::Command) -> clap::Command {
    command.mut_args(|arg| {
        let blank = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| value.to_string_lossy().trim().is_empty());
        if blank {
            arg.env(None::<&'static str>)
        } else {
            arg
        }
    })
}

/// One line per variable its setting's parser refuses, e.g.
/// `REGEN_DB_TIMEOUT_MS="soon" must be a positive whole number`. clap stops
/// at the first; whoever fixes a deployment wants them all at once. Each
/// setting is parsed alone, from the value its argument read.
pub fn malformed_variables(command: &clap::Command) -> Vec<String> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_env()?.to_string_lossy();
            let value = std::env::var_os(name.as_ref())?;
            let error = clap::Command::new("setting")
                .no_binary_name(true)
                .arg(arg.clone().global(false))
                .try_get_matches_from(std::iter::empty::<String>())
                .err()?;
            let reason = reason(&error);
            Some(if arg.is_hide_env_values_set() {
                format!("{name} {reason}")
            } else {
                format!("{name}={:?} {reason}", value.to_string_lossy())
            })
        })
        .collect()
}

/// The parser's own words, else the values clap would have taken.
fn reason(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    if let Some(source) = std::error::Error::source(error) {
        return source.to_string();
    }
    match error.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(values)) => format!("must be one of {}", values.join(", ")),
        _ => error.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The README's configuration table as the settings declare it: one row
    /// per variable, its default (or "unset") and its help.
    fn table_from_settings() -> String {
        let settings = Settings::augment_args(clap::Command::new("settings"));
        let mut table = String::from("| Variable | Default | Meaning |\n|---|---|---|\n");
        for arg in settings.get_arguments() {
            let name = arg.get_env().expect("every setting has a variable");
            let default = match arg.get_default_values() {
                [] => "unset".to_owned(),
                values => values
                    .iter()
                    .map(|value| format!("`{}`", value.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let help = arg.get_help().expect("every setting has help");
            table.push_str(&format!(
                "| `{}` | {default} | {help} |\n",
                name.to_string_lossy()
            ));
        }
        table
    }

    #[test]
    fn the_readme_configuration_table_is_what_the_settings_declare() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("| Variable | Default | Meaning |")
            .expect("README has a configuration table");
        let in_readme: String = readme[start..]
            .lines()
            .take_while(|line| line.starts_with('|'))
            .map(|line| format!("{line}\n"))
            .collect();
        let declared = table_from_settings();
        assert!(
            in_readme == declared,
            "README's configuration table differs from `Settings`; it should read:\n\n{declared}"
        );
    }

    #[test]
    fn serve_help_lists_every_variable() {
        // Unwrapped, so no variable's name is split across lines; global
        // arguments reach the subcommands when the command is built.
        let mut command = crate::cli::Cli::command().term_width(0);
        command.build();
        let help = command
            .find_subcommand_mut("serve")
            .expect("serve")
            .render_long_help()
            .to_string();
        let settings = Settings::augment_args(clap::Command::new("settings"));
        for arg in settings.get_arguments() {
            let name = arg.get_env().expect("a variable").to_string_lossy();
            assert!(help.contains(&format!("[env: {name}")), "{name}: {help}");
        }
    }
}
