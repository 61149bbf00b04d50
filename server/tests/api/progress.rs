//! Long CLI work shows its progress: a bar on a terminal, one summary line
//! in a pipe, nothing with --quiet; Ctrl-C keeps what was committed.

use std::process::{Command, Stdio};
use std::time::Duration;

use regen_storage::testing::TestDatabase;
use regen_storage::Backend;
use sqlx::Row;

use crate::cli::{run, text};

both_backends!(
    seeding_in_a_pipe_prints_one_summary_line,
    seeding_on_a_terminal_draws_a_progress_bar,
    quiet_prints_nothing_on_success,
    ctrl_c_during_seeding_keeps_whole_batches_and_says_how_many,
);

const BIN: &str = env!("CARGO_BIN_EXE_regen-admin");

/// Jobs in the database; 0 while the command has not created it yet.
async fn jobs_in(db: &TestDatabase) -> i64 {
    sqlx::any::install_default_drivers();
    let Ok(pool) = sqlx::AnyPool::connect(&db.url).await else {
        return 0;
    };
    let count = sqlx::query("SELECT COUNT(*) FROM regeneration_jobs")
        .fetch_one(&pool)
        .await
        .map(|row| row.get(0))
        .unwrap_or(0);
    pool.close().await;
    count
}

async fn seeding_in_a_pipe_prints_one_summary_line(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let output = run(&db.url, &["demo", "--jobs", "2500"], "");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("demo: inserted 2,500 jobs in "),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "no terminal escapes in a pipe");
    assert!(text(&output.stdout).contains("Log in as `admin`"));

    let rebuild = run(&db.url, &["stats", "rebuild"], "");
    assert!(rebuild.status.success());
    assert_eq!(
        text(&rebuild.stdout).trim(),
        "stats rebuild: recounted 2500 jobs"
    );
    assert!(text(&rebuild.stderr).starts_with("recounting every job: took "));
    assert_eq!(text(&rebuild.stderr).lines().count(), 1);
}

async fn seeding_on_a_terminal_draws_a_progress_bar(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    // `script` gives the command a pseudo-terminal and records what it drew.
    let output = Command::new("script")
        .args(["-qec", &format!("{BIN} demo --jobs 3000"), "/dev/null"])
        .env("DATABASE_URL", &db.url)
        .env(
            "REGEN_AUDIT_FALLBACK_PATH",
            std::env::temp_dir().join("pty.jsonl"),
        )
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stdout));
    let screen = text(&output.stdout);
    assert!(
        screen.contains("jobs ·") && screen.contains("ETA"),
        "a bar: {screen:?}"
    );
    assert!(
        screen.contains("/3,000 jobs"),
        "count of the total: {screen:?}"
    );
    assert!(
        screen.contains("demo: inserted 3,000 jobs in "),
        "{screen:?}"
    );
}

async fn quiet_prints_nothing_on_success(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    for args in [
        vec!["--quiet", "demo", "--jobs", "1200"],
        vec!["stats", "rebuild", "--quiet"],
        vec!["-q", "stats", "check"],
        vec!["-q", "audit", "replay"],
    ] {
        let output = run(&db.url, &args, "");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            text(&output.stderr)
        );
        assert_eq!(text(&output.stdout), "", "{args:?}");
        assert_eq!(text(&output.stderr), "", "{args:?}");
    }
    assert_eq!(jobs_in(&db).await, 1200);
    // Errors still speak.
    let failed = run(&db.url, &["-q", "token", "create", "nobody"], "");
    assert!(!failed.status.success());
    assert_eq!(text(&failed.stderr).lines().count(), 1);
}

async fn ctrl_c_during_seeding_keeps_whole_batches_and_says_how_many(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let child = Command::new(BIN)
        .args(["demo", "--jobs", "500000"])
        .env("DATABASE_URL", &db.url)
        .env(
            "REGEN_AUDIT_FALLBACK_PATH",
            std::env::temp_dir().join("int.jsonl"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some batches are in, then interrupt.
    for _ in 0..300 {
        if jobs_in(&db).await >= 2000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let kept = jobs_in(&db).await;
    assert!(
        0 < kept && kept < 500_000,
        "the interrupt landed mid-seeding: {kept} of 500,000 jobs kept"
    );
    assert_eq!(kept % 1000, 0, "whole batches only: {kept}");
    let said = format!(
        "interrupted: {} of 500,000 jobs committed",
        server::progress::grouped(kept as u64)
    );
    assert!(stderr.contains(&said), "{stderr}");
    // Every kept job has its audit history: nothing half-written.
    let check = run(&db.url, &["audit", "check"], "");
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&output.stdout).is_empty());
}
