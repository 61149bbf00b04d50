//! The operator CLI. Every command reads the settings (`DATABASE_URL`
//! among them); bad input gets one line on stderr, a non-zero exit, and
//! nothing written.

mod accounts;

use std::io::BufRead;

use clap::{Args, Parser, Subcommand};
use regen_domain::{JobStatus, JsonText, NewJob, Role, Scope, MAX_LABEL_LEN};
use regen_service::{AdminService, Operator};

use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "regen-admin",
    version,
    about = "Admin control plane for content regeneration jobs"
)]
pub struct Cli {
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// See and end browser sessions.
    Session {
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Insert a job (the way upstream producers do; the web UI never creates jobs).
    Job {
        #[command(subcommand)]
        command: JobCommand,
    },
    /// Seed demo jobs and an admin account, and print how to log in.
    Demo {
        /// Password for the `admin` and `member` accounts.
        #[arg(long, default_value = "regen-admin-demo")]
        admin_password: String,
        /// How many jobs to insert (benchmarks use a million).
        #[arg(long, default_value_t = 300)]
        jobs: usize,
    },
    /// Audit fallback journal tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The job counts the database keeps.
    Stats {
        #[command(subcommand)]
        command: StatsCommand,
    },
    /// Print a shell completion script (see the README for installing it).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Recount every job with COUNT(*) and compare; exit 1 with the differences.
    Check,
    /// Replace the kept counts with a recount (safe while the server runs).
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from the first line of stdin.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// One line per user: name, role, state, created, last login.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role; a demotion ends their sessions.
    SetRole {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Disable a user: their sessions end and their tokens stop working, at once.
    Disable { name: String },
    /// Enable a disabled user again (their old sessions stay ended, their
    /// old tokens stay revoked).
    Enable { name: String },
    /// Set a new password, read from the first line of stdin; ends their sessions.
    Password {
        name: String,
        /// Also revoke every API token of the user.
        #[arg(long)]
        revoke_tokens: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for the user on stdout (and nothing else there);
    /// what it may do and when it expires goes to stderr.
    Create {
        name: String,
        /// `read` tokens may list and read but not trigger.
        #[arg(long, value_parser = parse_scope)]
        scope: Option<Scope>,
        /// How long the token works: a number with s, m, h or d (e.g. 90d).
        /// Default: no expiry.
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<std::time::Duration>,
        /// What the token is for, shown in lists.
        #[arg(long)]
        label: Option<String>,
        /// Print the token and its details as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// One line per token: id, owner, label, scope, created, last used, expires, revoked.
    List {
        /// Only this user's tokens.
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: the next request with it gets 401.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// One line per live session: id, user, created, last seen, expires, address, user agent.
    List {
        /// Only this user's sessions.
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// End one session by id, or every session of a user with --user.
    Revoke {
        #[arg(required_unless_present = "user", conflicts_with = "user")]
        id: Option<String>,
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Print only the new job's id. JSON arguments accept `@path` to read a file.
    Create(CreateJob),
    /// Print one job as the API's detail does (one JSON line, payloads as
    /// stored but for the values redaction hides; their count goes to stderr).
    Show { id: String },
}

#[derive(Debug, Args)]
pub struct CreateJob {
    #[arg(long)]
    target_type: String,
    #[arg(long)]
    target_id: String,
    #[arg(long)]
    instruction: String,
    #[arg(long, default_value = "cli")]
    created_by: String,
    #[arg(long, default_value = "PENDING", value_parser = parse_status)]
    status: JobStatus,
    #[arg(long)]
    output_ref: Option<String>,
    #[arg(long)]
    error: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Insert journaled events missing from the audit table (idempotent).
    Replay,
    /// List jobs whose status has no matching audit event; exit 1 if any.
    Check,
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse()
}

/// A duration as `--expires-in` takes it: a positive whole number and one
/// of `s`, `m`, `h`, `d`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{text:?} is not a duration: use a number with s, m, h or d, e.g. 90d");
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let seconds_per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let count: u64 = number.parse().map_err(|_| bad())?;
    if count == 0 {
        return Err("the duration must be longer than zero".into());
    }
    // At most 100 years: beyond that, "no expiry" says it better.
    let seconds = count
        .checked_mul(seconds_per_unit)
        .filter(|s| *s <= 100 * 366 * 86_400)
        .ok_or_else(|| format!("{text:?} is too long: at most 100 years"))?;
    Ok(std::time::Duration::from_secs(seconds))
}

fn parse_status(text: &str) -> Result<JobStatus, String> {
    text.parse()
        .map_err(|e: regen_domain::UnknownStatus| e.to_string())
}

/// A JSON argument: inline text, or `@path` for a file's contents.
pub fn json_argument(name: &str, value: &str) -> Result<JsonText, String> {
    let text = match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--{name}: cannot read {path}: {e}"))?,
        None => value.to_owned(),
    };
    JsonText::parse(text).map_err(|e| format!("--{name}: {e}"))
}

fn label(name: &str, value: &str) -> Result<String, String> {
    if value.is_empty() || value.len() > MAX_LABEL_LEN {
        return Err(format!("--{name} must be 1 to {MAX_LABEL_LEN} bytes"));
    }
    Ok(value.to_owned())
}

/// Validates everything before touching the database.
pub fn new_job(command: &CreateJob) -> Result<NewJob, String> {
    let CreateJob {
        target_type,
        target_id,
        instruction,
        created_by,
        status,
        output_ref,
        error,
    } = command;
    Ok(NewJob {
        status: *status,
        target_type: label("target-type", target_type)?,
        target_id: label("target-id", target_id)?,
        instruction_json: json_argument("instruction", instruction)?,
        output_ref: output_ref
            .as_deref()
            .map(|v| json_argument("output-ref", v))
            .transpose()?,
        error_json: error
            .as_deref()
            .map(|v| json_argument("error", v))
            .transpose()?,
        created_by: label("created-by", created_by)?,
    })
}

pub use accounts::{run_session, run_token, run_user};

/// `job show ID`: the job as the API's detail body, on one line; how many
/// values redaction hid goes to stderr, like the API's `Regen-Redacted`.
pub async fn show_job(service: &AdminService, id: &str) -> Result<(), String> {
    let job = service
        .show_job(&Operator::command_line(), id)
        .await
        .map_err(describe)?;
    let line = serde_json::to_string(&job).map_err(|e| format!("cannot print the job: {e}"))?;
    println!("{line}");
    match job.hidden.count() {
        0 => {}
        1 => eprintln!("regen-admin: 1 value hidden by redaction"),
        hidden => eprintln!("regen-admin: {hidden} values hidden by redaction"),
    }
    Ok(())
}

pub fn read_password_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(
            "no password on stdin: pipe it in, e.g. `echo secret | regen-admin user password NAME`"
                .into(),
        );
    }
    Ok(password)
}

pub fn describe(error: regen_service::ServiceError) -> String {
    use regen_service::ServiceError as E;
    match error {
        E::InvalidInput(message) => message,
        E::Unavailable(cause) => format!("database unavailable: {cause}"),
        E::Internal(cause) => format!("database error: {cause}"),
        E::Setup(cause) => format!("cannot open the database: {cause}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_take_a_number_and_one_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        for bad in [
            "",
            "d",
            "10",
            "1w",
            "-1d",
            "1.5h",
            " 1d",
            "1d ",
            "0d",
            "99999999999999999999d",
            "36600000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
