//! Memory budgets, in a test binary of their own. Cargo runs test binaries
//! one after another, so no other test loads the machine while a server's
//! peak RSS is measured: among the API binary's 300 tests on two cores, the
//! same export grew the server by up to 21.6 MB instead of 12–13 MB (a busy
//! machine keeps more pooled connections open, each with its own SQLite
//! page cache), and the figure said more about the load than the export.

#[path = "../api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use regen_domain::{NewJob, Timestamp};
use regen_storage::Backend;

use crate::helpers::{client, job, spawn_app, ServerProcess};

/// The two backends' tests measure one at a time, for the same reason.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_export_keeps_memory_flat() {
        super::a_large_export_keeps_memory_flat(regen_storage::Backend::Sqlite).await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_export_keeps_memory_flat() {
        super::a_large_export_keeps_memory_flat(regen_storage::Backend::Postgres).await
    }
}

async fn a_large_export_keeps_memory_flat(backend: Backend) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = spawn_app(backend).await;
    let store = app.store().await;
    let payload = format!(r#"{{"text":"{}"}}"#, "x".repeat(4000));
    let base = Timestamp::from_millis(1_790_000_000_000).unwrap();
    for batch in 0..10 {
        let jobs: Vec<(NewJob, Timestamp)> = (0..2000)
            .map(|n| {
                let at = base.millis() + (batch * 2000 + n) as i64;
                (
                    job(&format!("t{n}"), "bot", &payload),
                    Timestamp::from_millis(at).unwrap(),
                )
            })
            .collect();
        store.insert_jobs(jobs).await.unwrap();
    }
    // The server in a process of its own, so its memory is its own.
    let server = ServerProcess::start(&app.database.url, &[]);
    let warm = client()
        .get(format!(
            "{}/api/admin/regeneration-jobs?limit=500",
            server.base
        ))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    warm.bytes().await.unwrap();
    let before = server.memory("VmRSS");
    // 20,000 jobs of 4 KB: an export held in memory would take 80 MB.
    for format in ["ndjson", "csv"] {
        let mut response = client()
            .get(format!(
                "{}/api/admin/regeneration-jobs/export?format={format}",
                server.base
            ))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        let (mut bytes, mut lines) = (0usize, 0usize);
        while let Some(chunk) = response.chunk().await.unwrap() {
            bytes += chunk.len();
            lines += chunk.iter().filter(|byte| **byte == b'\n').count();
        }
        assert!(bytes > 1_000_000, "{format}: {bytes} bytes exported");
        // Every job once, over pages of several sizes (CSV's pages are
        // sized by the bytes of the ones before; it has a header line).
        let header = usize::from(format == "csv");
        assert_eq!(lines, 20_000 + header, "{format}: lines exported");
    }
    let growth = server.memory("VmHWM").saturating_sub(before);
    server.stop();
    eprintln!("peak RSS growth: {growth} bytes");
    assert!(growth < 20 * 1024 * 1024, "peak RSS grew by {growth} bytes");
}
