//! The operator CLI. Every command reads `DATABASE_URL`; bad input gets one
//! line on stderr, a non-zero exit, and nothing written.

use std::io::BufRead;

use clap::{Parser, Subcommand};
use regen_domain::{JobStatus, JsonText, NewJob, Role, MAX_LABEL_LEN};
use regen_service::{AdminService, Operator};

#[derive(Debug, Parser)]
#[command(
    name = "regen-admin",
    version,
    about = "Admin control plane for content regeneration jobs"
)]
pub struct Cli {
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
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new API token for the user (and nothing else).
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Print only the new job's id. JSON arguments accept `@path` to read a file.
    Create {
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
    },
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
pub fn new_job(command: &JobCommand) -> Result<NewJob, String> {
    let JobCommand::Create {
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

pub fn read_password_line() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err("no password on stdin: pipe it in, e.g. `echo secret | regen-admin user add NAME --role admin`".into());
    }
    Ok(password)
}

pub async fn add_user(
    service: &AdminService,
    name: &str,
    role: Role,
    password: &str,
) -> Result<(), String> {
    service
        .create_user(&Operator::command_line(), name, role, password)
        .await
        .map(|_| ())
        .map_err(describe)
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
