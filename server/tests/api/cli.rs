//! The operator CLI: what it prints, and that bad input writes nothing.

use regen_service::Operator;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use regen_storage::testing::TestDatabase;
use regen_storage::Backend;

pub(crate) fn run(url: &str, args: &[&str], stdin: &str) -> Output {
    let journal = std::env::temp_dir().join("regen-cli-test.jsonl");
    run_with_journal(url, &journal, args, stdin)
}

fn run_with_journal(url: &str, journal: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("REGEN_AUDIT_FALLBACK_PATH", journal)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

both_backends!(
    job_create_prints_only_the_new_id,
    bad_input_gets_one_line_on_stderr_and_writes_nothing,
    users_and_tokens_are_created_from_the_cli,
    audit_check_is_clean_on_a_fresh_database,
    a_refused_audit_event_is_recovered_with_replay_and_check,
    the_demo_data_has_a_consistent_audit_history,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_on_postgres_leaves_fresh_statistics_and_vacuumed_counters() {
    let db = TestDatabase::new(Backend::Postgres).await;

    let demo = run(&db.url, &["demo", "--jobs", "300"], "");

    assert!(demo.status.success(), "{}", text(&demo.stderr));
    // ANALYZE writes the row estimates; a table it never saw has none (-1).
    let estimates: Vec<(String, f32)> = sqlx::query_as(
        "SELECT relname::text, reltuples FROM pg_class \
         WHERE relname IN ('regeneration_jobs', 'audit_events') ORDER BY relname",
    )
    .fetch_all(&db.raw_pool().await)
    .await
    .unwrap();
    assert_eq!(estimates.len(), 2);
    for (table, rows) in estimates {
        assert!(rows >= 300.0, "{table}: {rows} rows estimated");
    }
    // The import rewrote the counter rows once per batch: vacuumed, no
    // trigger or chart read wades through the dead versions. And no hour
    // before this one is left spread over shards.
    let vacuumed: Vec<(String,)> = sqlx::query_as(
        "SELECT relname::text FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL \
         AND relname IN ('regeneration_job_counts', 'regeneration_job_activity') ORDER BY relname",
    )
    .fetch_all(&db.raw_pool().await)
    .await
    .unwrap();
    assert_eq!(
        vacuumed,
        [
            ("regeneration_job_activity".to_owned(),),
            ("regeneration_job_counts".to_owned(),)
        ]
    );
    let (spread,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM regeneration_job_activity WHERE shard <> 0 \
         AND hour < to_char(date_trunc('hour', now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    )
    .fetch_one(&db.raw_pool().await)
    .await
    .unwrap();
    assert_eq!(spread, 0, "past hours folded into shard 0");
}

async fn the_demo_data_has_a_consistent_audit_history(backend: Backend) {
    let db = TestDatabase::new(backend).await;

    let demo = run(&db.url, &["demo", "--jobs", "50"], "");
    let check = run(&db.url, &["audit", "check"], "");

    assert!(demo.status.success(), "{}", text(&demo.stderr));
    assert!(text(&demo.stdout).contains("admin"), "prints how to log in");
    assert!(check.status.success(), "{}", text(&check.stdout));
    let store = db.store().await;
    let admin = store.find_user_by_name("admin").await.unwrap().unwrap();
    let completed = store
        .list_jobs(
            &regen_storage::JobFilter {
                statuses: vec![regen_domain::JobStatus::Completed],
                ..Default::default()
            },
            None,
            1,
        )
        .await
        .unwrap();
    let events = store.audit_events(completed[0].id).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "REGEN_JOB_CREATED",
            "REGEN_JOB_TRIGGERED",
            "REGEN_JOB_COMPLETED"
        ]
    );
    assert_eq!(events[1].actor, admin.id);
}

async fn a_refused_audit_event_is_recovered_with_replay_and_check(backend: Backend) {
    use regen_storage::testing::{break_audit_inserts, repair_audit_inserts};
    let db = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let store = db.store().await;
    let service = crate::helpers::service_on(&db, &journal).await;
    let admin = service
        .create_user(
            &Operator::command_line(),
            "ops",
            regen_domain::Role::Admin,
            "a long password",
        )
        .await
        .unwrap();
    let id = store
        .insert_job(crate::helpers::new_job(regen_domain::JobStatus::Pending))
        .await
        .unwrap()
        .id
        .to_string();
    break_audit_inserts(&db).await;
    let triggered = service
        .trigger_job(Some(&admin), &id, Some("req-1"))
        .await
        .unwrap();
    assert!(!triggered.audit_recorded);
    repair_audit_inserts(&db).await;

    let check_before = run_with_journal(&db.url, &journal, &["audit", "check"], "");
    let replay = run_with_journal(&db.url, &journal, &["audit", "replay"], "");
    let check_after = run_with_journal(&db.url, &journal, &["audit", "check"], "");
    let replay_again = run_with_journal(&db.url, &journal, &["audit", "replay"], "");

    assert!(!check_before.status.success());
    assert!(text(&check_before.stdout).contains(&id));
    assert!(
        text(&replay.stdout).contains("1 inserted, 0 already present"),
        "{}",
        text(&replay.stdout)
    );
    assert!(
        check_after.status.success(),
        "{}",
        text(&check_after.stderr)
    );
    assert!(text(&replay_again.stdout).contains("0 inserted, 1 already present"));
    let events = store.audit_events(id.parse().unwrap()).await.unwrap();
    assert_eq!(events.last().unwrap().request_id.as_deref(), Some("req-1"));
}

async fn job_create_prints_only_the_new_id(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), r#"{"from":"file","n":1.50}"#).unwrap();
    let instruction = format!("@{}", file.path().display());

    let output = run(
        &db.url,
        &[
            "job",
            "create",
            "--target-type",
            "insight",
            "--target-id",
            "i-1",
            "--instruction",
            &instruction,
            "--status",
            "FAILED",
            "--error",
            r#"{"code":"E"}"#,
        ],
        "",
    );

    assert!(output.status.success(), "{}", text(&output.stderr));
    let id = text(&output.stdout).trim().to_owned();
    assert_eq!(id.len(), 36);
    let store = db.store().await;
    let job = store.get_job(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(job.instruction_json.as_str(), r#"{"from":"file","n":1.50}"#);
    assert_eq!(job.status.as_str(), "FAILED");
}

async fn bad_input_gets_one_line_on_stderr_and_writes_nothing(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let store = db.store().await;
    let base = ["job", "create", "--target-type", "t", "--target-id", "i"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        ([&base[..], &["--instruction", "{bad json"]].concat(), ""),
        (
            [&base[..], &["--instruction", "{}", "--status", "DONE"]].concat(),
            "",
        ),
        (
            [&base[..], &["--instruction", "@/nonexistent/file.json"]].concat(),
            "",
        ),
        (
            [&base[..], &["--instruction", "{}", "--output-ref", "nope"]].concat(),
            "",
        ),
        (vec!["token", "create", "nobody"], ""),
        (vec!["user", "add", "x", "--role", "admin"], ""),
        (vec!["user", "add", "x", "--role", "root"], "password123\n"),
        (vec!["user", "add", "x", "--role", "admin"], "short\n"),
    ];
    for (args, stdin) in cases {
        let output = run(&db.url, &args, stdin);
        assert!(!output.status.success(), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(!stderr.trim().is_empty(), "{args:?}");
        if !stderr.contains("Usage") {
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        }
        assert!(text(&output.stdout).is_empty(), "{args:?}");
    }
    let jobs = store
        .list_jobs(&Default::default(), None, 10)
        .await
        .unwrap();
    assert!(jobs.is_empty());
    assert!(store.find_user_by_name("x").await.unwrap().is_none());
}

async fn users_and_tokens_are_created_from_the_cli(backend: Backend) {
    let db = TestDatabase::new(backend).await;

    let added = run(
        &db.url,
        &["user", "add", "ops", "--role", "admin"],
        "a long password\n",
    );
    let token = run(&db.url, &["token", "create", "ops"], "");
    let duplicate = run(
        &db.url,
        &["user", "add", "ops", "--role", "member"],
        "a long password\n",
    );

    assert!(added.status.success(), "{}", text(&added.stderr));
    let token = text(&token.stdout);
    assert!(token.starts_with("rga_") && token.trim().lines().count() == 1);
    assert!(!duplicate.status.success());
    assert!(text(&duplicate.stderr).contains("already exists"));
}

async fn audit_check_is_clean_on_a_fresh_database(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let output = run(&db.url, &["audit", "check"], "");
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn completions_are_printed_for_each_shell_without_a_database() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef regen-admin"),
        ("fish", "complete -c regen-admin"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_regen-admin"))
            .args(["completions", shell])
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["demo", "token", "session", "stats"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .args(["completions", "powershell-classic"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert_eq!(text(&unknown.stderr).lines().count(), 1);
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let output = run("postgres://nobody@127.0.0.1:1/none", &["migrate"], "");
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("regen-admin: cannot open the database"));
}

#[test]
fn an_invalid_setting_is_reported_at_start_up() {
    let output = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .arg("migrate")
        .env("REGEN_SESSION_IDLE_SECS", "soon")
        .env("LEPTOS_SITE_ADDR", "nowhere")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("REGEN_SESSION_IDLE_SECS") && stderr.contains("LEPTOS_SITE_ADDR"));
}

#[test]
fn a_target_url_template_that_is_not_http_stops_start_up_with_one_line_naming_it() {
    let output = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .arg("serve")
        // Were the templates accepted, the database would fail instead.
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env(
            "REGEN_TARGET_URL_TEMPLATES",
            "article=https://cms.example.com/a/{targetId},file=ftp://files.example.com/{targetId}",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("REGEN_TARGET_URL_TEMPLATES")
            && stderr.contains("\"file=ftp://files.example.com/{targetId}\"")
            && stderr.contains("only https:// and http://"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_flag_is_one_line_naming_the_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .args(["serve", "--db-timeout-ms", "soon"])
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--db-timeout-ms"), "{stderr}");
}

#[test]
fn a_blank_variable_counts_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());

    let output = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("REGEN_METRICS_ADDR", "")
        .env("REGEN_SESSION_IDLE_SECS", " ")
        .env("REGEN_PUBLIC_ORIGIN", "")
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn a_database_password_is_printed_neither_in_help_nor_in_an_error() {
    let secret = "s3cret-pw";
    let help = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .args(["serve", "--help"])
        .env(
            "DATABASE_URL",
            format!("postgres://regen:{secret}@db:5432/regen"),
        )
        .output()
        .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .arg("migrate")
        .env("DATABASE_URL", format!("mysql://regen:{secret}@db/regen"))
        .output()
        .unwrap();

    assert!(help.status.success());
    // Help is wrapped to the terminal, wherever a line happens to end.
    let help_words = text(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(help_words.contains("[env: DATABASE_URL]"), "{help_words}");
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DATABASE_URL must start with"), "{stderr}");
    for output in [&help, &refused] {
        let printed = text(&output.stdout) + &text(&output.stderr);
        assert!(!printed.contains(secret), "{printed}");
    }
}

#[test]
fn serving_beyond_loopback_requires_a_public_origin() {
    let (status, stderr, created) = crate::helpers::refused_serve(
        &[("LEPTOS_SITE_ADDR", "0.0.0.0:0")],
        &["REGEN_PUBLIC_ORIGIN"],
    );

    assert!(!status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("REGEN_PUBLIC_ORIGIN must be set"),
        "{stderr}"
    );
    assert!(!created, "nothing was created");
}
