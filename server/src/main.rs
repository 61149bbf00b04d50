//! `regen-admin`: the web server and the operator CLI in one binary.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use regen_service::Operator;
use server::cli::{self, AuditCommand, Cli, Command, JobCommand, StatsCommand, UserCommand};
use server::config::{self, Config};
use server::progress::{grouped, took, Progress, Verbosity};
use server::{build_service, demo, shutdown_signal, telemetry, Application};
use std::sync::atomic::{AtomicBool, Ordering};

/// jemalloc instead of the system allocator. Under glibc's malloc a server-
/// rendered page spent about a quarter of its time in the allocator and
/// in waits for its arena locks, shared by the runtime's threads and every
/// pooled SQLite connection's; with jemalloc's per-thread caches the list
/// page served 2 to 2.5 times the requests at 32 connections, at a third
/// of the p99 (bench/NOTES.md, round 3, fourth session).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("regen-admin: {message}");
    ExitCode::FAILURE
}

/// Prints unless `--quiet`.
fn quiet_or(verbosity: Verbosity, print: impl FnOnce()) {
    if verbosity == Verbosity::Normal {
        print();
    }
}

/// Runs one long step with a spinner on a terminal (count unknown: a single
/// statement), and its duration in the summary line the caller prints.
async fn spinning<T>(
    verbosity: Verbosity,
    what: &str,
    work: impl std::future::Future<Output = T>,
) -> T {
    let progress = Progress::new(None, "", verbosity);
    progress.message(what.to_owned());
    let result = work.await;
    let elapsed = progress.elapsed();
    progress.finish(&format!("{what}: took {}", took(elapsed)));
    result
}

fn configuration_problems(problems: impl IntoIterator<Item = String>) -> ExitCode {
    for problem in problems {
        eprintln!("regen-admin: configuration: {problem}");
    }
    ExitCode::FAILURE
}

fn outcome(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(message),
    }
}

fn main() -> ExitCode {
    cap_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => fail(format!("cannot start the async runtime: {error}")),
    }
}

/// SQLite's own allocations go through the C library's malloc, not the
/// allocator above, and every pooled SQLite connection has a thread of its
/// own. glibc gives each thread an arena of its own, up to eight per core,
/// and an arena keeps what its thread freed: after an export's pages had
/// passed through them, the server's peak RSS grew by 21–23 MB for a
/// million jobs, and by 15–22 MB for the 20,000 jobs of
/// `a_large_export_keeps_memory_flat` when the machine was busy (more
/// connections opened, more arenas kept). With one arena per core: 17 MB,
/// and 12–15 MB busy or not, at the same speed (bench/NOTES.md, round 3,
/// ninth session). glibc reads `MALLOC_ARENA_MAX` only when a process
/// starts, so the binary starts itself again with it set: `exec` replaces
/// this process (same id, same arguments and descriptors) before anything
/// has run. An explicit `MALLOC_ARENA_MAX` wins; if the `exec` fails, the
/// server runs with glibc's default.
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        use std::os::unix::process::CommandExt;
        let Ok(binary) = std::env::current_exe() else {
            return;
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(binary);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // Returns only if the exec failed.
        let _ = command
            .args(args)
            .env("MALLOC_ARENA_MAX", cores.to_string())
            .exec();
    }
}

async fn run() -> ExitCode {
    let command = config::ignoring_blank_variables(Cli::command());
    let cli = match command
        .clone()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let malformed = config::malformed_variables(&command);
            if malformed.is_empty() {
                let message = error.to_string();
                let first = message.lines().next().unwrap_or_default();
                return fail(first.trim_start_matches("error: "));
            }
            return configuration_problems(malformed);
        }
    };
    // Completions need no database.
    if let Some(Command::Completions { shell }) = &cli.command {
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "regen-admin",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Normal
    };
    let config = match Config::from_settings(cli.settings) {
        Ok(config) => config,
        Err(problem) => return configuration_problems([problem]),
    };
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Serve => telemetry::init(
            config.log_format,
            config.log_filter.as_deref(),
            telemetry::SERVER_FILTER,
        ),
        // Changes to access leave a security log line on stderr.
        Command::User { .. } | Command::Token { .. } | Command::Session { .. } => telemetry::init(
            config.log_format,
            config.log_filter.as_deref(),
            telemetry::ACCOUNT_COMMAND_FILTER,
        ),
        _ => {}
    }
    // Validate what can be validated before touching the database.
    let (new_job, password) = match &command {
        Command::Job {
            command: JobCommand::Create(create),
        } => match cli::new_job(create) {
            Ok(job) => (Some(job), None),
            Err(message) => return fail(message),
        },
        Command::User {
            command: UserCommand::Add { .. } | UserCommand::Password { .. },
        } => match cli::read_password_line() {
            Ok(password) => (None, Some(password)),
            Err(message) => return fail(message),
        },
        _ => (None, None),
    };
    let service = match build_service(&config).await {
        Ok(service) => service,
        Err(error) => return fail(error),
    };
    let operator = Operator::command_line();
    match command {
        Command::Serve => {
            if let Some(warning) = config.shared_address_warning() {
                tracing::warn!("{warning}");
            }
            let app = match Application::with_service(config, service).await {
                Ok(app) => app,
                Err(error) => return fail(format!("{error:#}")),
            };
            let addr = app.local_addr();
            tracing::info!(%addr, "listening");
            eprintln!("regen-admin listening on http://{addr}");
            if let Some(metrics) = app.metrics_addr() {
                eprintln!("metrics on http://{metrics}/metrics");
            }
            match app.run_until(shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(format!("{error:#}")),
            }
        }
        // Printed before the configuration was checked.
        Command::Completions { .. } => ExitCode::SUCCESS,
        Command::Migrate => {
            println!("migrations applied");
            ExitCode::SUCCESS
        }
        Command::User { command } => outcome(cli::run_user(&service, command, password).await),
        Command::Token { command } => outcome(cli::run_token(&service, command).await),
        Command::Session { command } => outcome(cli::run_session(&service, command).await),
        Command::Job {
            command: JobCommand::Show { id },
        } => outcome(cli::show_job(&service, &id).await),
        Command::Job {
            command: JobCommand::Create(_),
        } => {
            let job = new_job.expect("validated above");
            match service.create_job(&operator, job).await {
                Ok(job) => {
                    println!("{}", job.id);
                    ExitCode::SUCCESS
                }
                Err(error) => fail(cli::describe(error)),
            }
        }
        Command::Demo {
            admin_password,
            jobs,
        } => {
            // Ctrl-C stops between batches: what was committed stays.
            let stop = std::sync::Arc::new(AtomicBool::new(false));
            let on_signal = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    on_signal.store(true, Ordering::Relaxed);
                }
            });
            let progress = Progress::new(Some(jobs as u64), "jobs", verbosity);
            match demo::seed(&service, &operator, jobs, &admin_password, &progress, &stop).await {
                Ok(seeded) if seeded.interrupted => {
                    let elapsed = progress.elapsed();
                    progress.finish("");
                    eprintln!(
                        "regen-admin: interrupted: {} of {} jobs committed in {} (whole batches with their audit history; nothing half-written)",
                        grouped(seeded.jobs as u64),
                        grouped(jobs as u64),
                        took(elapsed)
                    );
                    ExitCode::from(130)
                }
                Ok(seeded) => {
                    let summary = format!(
                        "demo: inserted {} jobs in {}",
                        grouped(seeded.jobs as u64),
                        took(progress.elapsed())
                    );
                    progress.finish(&summary);
                    if verbosity == Verbosity::Normal {
                        println!("Demo data ready: {jobs} regeneration jobs.");
                        println!("Log in as `admin` with password `{admin_password}` (a `member` account has the same password and sees nothing).");
                    }
                    ExitCode::SUCCESS
                }
                Err(message) => fail(message),
            }
        }
        Command::Audit {
            command: AuditCommand::Replay,
        } => match spinning(
            verbosity,
            "replaying the audit journal",
            service.replay_audit_journal(&operator),
        )
        .await
        {
            Ok(report) => {
                quiet_or(verbosity, || {
                    println!(
                        "read {} journaled events from {}: {} inserted, {} already present",
                        report.read,
                        service.audit_journal_path(&operator).display(),
                        report.inserted,
                        report.already_present
                    )
                });
                ExitCode::SUCCESS
            }
            Err(error) => fail(cli::describe(error)),
        },
        Command::Audit {
            command: AuditCommand::Check,
        } => match service.jobs_missing_audit(&operator).await {
            Ok(missing) if missing.is_empty() => {
                println!("audit check: every job's status is backed by its audit events");
                ExitCode::SUCCESS
            }
            Ok(missing) => {
                for (id, status) in &missing {
                    println!("{id} {status} has no matching audit event");
                }
                eprintln!(
                    "regen-admin: {} job(s) without matching audit events; run `regen-admin audit replay`",
                    missing.len()
                );
                ExitCode::FAILURE
            }
            Err(error) => fail(cli::describe(error)),
        },
        Command::Stats {
            command: StatsCommand::Check,
        } => match spinning(
            verbosity,
            "recounting every job",
            service.check_job_counts(&operator),
        )
        .await
        {
            Ok(differences) if differences.is_empty() => {
                quiet_or(verbosity, || {
                    println!("stats check: the kept counts equal a recount of every job")
                });
                ExitCode::SUCCESS
            }
            Ok(differences) => {
                for d in &differences {
                    println!("{} kept={} counted={}", d.key, d.kept, d.counted);
                }
                eprintln!(
                    "regen-admin: {} figure(s) differ from a recount; run `regen-admin stats rebuild`",
                    differences.len()
                );
                ExitCode::FAILURE
            }
            Err(error) => fail(cli::describe(error)),
        },
        Command::Stats {
            command: StatsCommand::Rebuild,
        } => match spinning(
            verbosity,
            "recounting every job",
            service.rebuild_job_counts(&operator),
        )
        .await
        {
            Ok(jobs) => {
                quiet_or(verbosity, || {
                    println!("stats rebuild: recounted {jobs} jobs")
                });
                ExitCode::SUCCESS
            }
            Err(error) => fail(cli::describe(error)),
        },
    }
}
