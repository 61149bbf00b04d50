//! Exports that must stop before their end: access taken back mid-way, a
//! maximum duration, a client that stops reading. Each is read over a raw
//! connection with a small receive buffer, so that little can wait in the
//! kernel between the server and the test, and the data set is many times
//! what the server's socket buffer holds.

use std::time::{Duration, Instant};

use regen_domain::{JobStatus, JsonText, NewJob, Role, Timestamp};
use regen_service::{
    CreatedToken, CredentialHash, ExportFormat, ExportKind, ExportOutcome, ListQuery, Operator,
    SecurityEvent, TokenRequest,
};
use regen_storage::Backend;
use server::config::ExportLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{spawn_app, spawn_app_with, Options, TestApp};

both_backends!(
    a_csv_export_stops_when_its_token_is_revoked,
    a_stopped_export_counts_only_the_rows_it_handed_out,
    an_ndjson_export_stops_when_its_user_is_disabled,
    an_export_stops_when_its_owner_is_demoted,
    an_export_ends_with_an_error_after_its_maximum_duration,
    an_export_whose_client_stops_reading_is_ended,
);

const JOBS: usize = 60_000;

const CSV_EXPORT: &str = "/api/admin/regeneration-jobs/export?format=csv";

/// Starts every exported row's target id, once per row in either format.
const MARKER: &str = "row-";

/// `JOBS` jobs with the longest target id the schema allows: about 17 MB of
/// CSV, 30 MB of NDJSON.
async fn seed(app: &TestApp) {
    let store = app.store().await;
    let base = Timestamp::from_millis(1_790_000_000_000).unwrap();
    let instruction = JsonText::parse(format!(r#"{{"text":"{}"}}"#, "i".repeat(200))).unwrap();
    for batch in 0..JOBS / 5_000 {
        let jobs = (0..5_000)
            .map(|n| {
                let number = batch * 5_000 + n;
                let job = NewJob {
                    status: JobStatus::Pending,
                    target_type: "insight".into(),
                    target_id: format!("{MARKER}{number:06}-{}", "x".repeat(189)),
                    instruction_json: instruction.clone(),
                    output_ref: None,
                    error_json: None,
                    created_by: "bot".into(),
                };
                (
                    job,
                    Timestamp::from_millis(base.millis() + number as i64).unwrap(),
                )
            })
            .collect();
        store.insert_jobs(jobs).await.unwrap();
    }
}

/// An export read over one raw HTTP/1.1 connection.
struct RawExport {
    stream: TcpStream,
    received: Vec<u8>,
    /// The connection ended (cleanly or not).
    over: bool,
}

impl RawExport {
    async fn start(app: &TestApp, path: &str, credential: &str) -> RawExport {
        let socket = TcpSocket::new_v4().unwrap();
        // A fixed, small buffer: the kernel does not grow it as we read.
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let address = app.address.trim_start_matches("http://").parse().unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{credential}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut export = RawExport {
            stream,
            received: Vec::new(),
            over: false,
        };
        export.read_until_rows(1).await;
        assert!(
            export.received.starts_with(b"HTTP/1.1 200 OK"),
            "{}",
            String::from_utf8_lossy(&export.received[..export.received.len().min(300)])
        );
        export
    }

    fn rows(&self) -> usize {
        self.received
            .windows(MARKER.len())
            .filter(|w| *w == MARKER.as_bytes())
            .count()
    }

    /// Reads once; false when the connection is over.
    async fn read_some(&mut self) -> bool {
        let mut buffer = [0u8; 16 * 1024];
        match self.stream.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                self.over = true;
                false
            }
            Ok(n) => {
                self.received.extend_from_slice(&buffer[..n]);
                true
            }
        }
    }

    async fn read_until_rows(&mut self, rows: usize) {
        while self.rows() < rows && self.read_some().await {}
    }

    /// Reads what is left; true when the file ended cleanly, with the
    /// chunked encoding's last chunk.
    async fn read_to_end(&mut self) -> bool {
        let reading = async { while self.read_some().await {} };
        tokio::time::timeout(Duration::from_secs(120), reading)
            .await
            .expect("the export ends");
        self.received.ends_with(b"\r\n0\r\n\r\n")
    }
}

fn count(app: &TestApp, kind: ExportKind, outcome: ExportOutcome) -> u64 {
    app.service
        .metrics()
        .exports()
        .into_iter()
        .filter(|e| e.kind == kind && e.outcome == outcome)
        .map(|e| e.count)
        .sum()
}

fn export_revocations(app: &TestApp) -> u64 {
    app.service
        .metrics()
        .security_events()
        .into_iter()
        .find(|(event, _)| *event == SecurityEvent::ExportRevoked)
        .unwrap()
        .1
}

/// What a stopped export must show: no clean end, and far fewer rows than
/// the data set (the server's socket buffer holds at most ~15,000).
fn assert_cut_short(export: &RawExport, ended_cleanly: bool) {
    let rows = export.rows();
    assert!(
        !ended_cleanly,
        "a stopped export must not end cleanly ({rows} rows)"
    );
    assert!(export.over);
    assert!(rows < JOBS / 2, "{rows} of {JOBS} rows arrived");
}

/// A seeded app, and an admin token of ada's to export with.
async fn seeded_with_token(backend: Backend) -> (TestApp, CreatedToken) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let created = app
        .service
        .create_api_token(&Operator::command_line(), "ada", TokenRequest::default())
        .await
        .unwrap();
    (app, created)
}

async fn a_csv_export_stops_when_its_token_is_revoked(backend: Backend) {
    let (app, created) = seeded_with_token(backend).await;
    let bearer = format!("Authorization: Bearer {}", created.token);
    let mut export = RawExport::start(&app, CSV_EXPORT, &bearer).await;
    export.read_until_rows(600).await;

    app.service
        .revoke_api_token(&Operator::command_line(), &created.summary.id)
        .await
        .unwrap();
    let ended_cleanly = export.read_to_end().await;

    assert_cut_short(&export, ended_cleanly);
    assert_eq!(count(&app, ExportKind::Jobs, ExportOutcome::Revoked), 1);
    assert_eq!(export_revocations(&app), 1, "logged as a security event");
}

/// The credential is checked while a page is read: a page read for a
/// revoked credential is dropped unwritten, and its rows are not counted.
async fn a_stopped_export_counts_only_the_rows_it_handed_out(backend: Backend) {
    let (app, created) = seeded_with_token(backend).await;
    let caller = app
        .service
        .authenticate_token(&created.token)
        .await
        .unwrap()
        .unwrap();
    let credential = CredentialHash::api_token(&created.token);
    let mut export = app
        .service
        .export_jobs(
            Some(&caller),
            Some(&credential),
            None,
            ListQuery::default(),
            ExportFormat::Csv,
        )
        .await
        .unwrap();
    let first = export.next_chunk().await.unwrap().unwrap();
    let handed_out = first.matches(MARKER).count() as u64;
    assert!(handed_out > 0 && handed_out < JOBS as u64);

    app.service
        .revoke_api_token(&Operator::command_line(), &created.summary.id)
        .await
        .unwrap();
    assert!(
        export.next_chunk().await.is_err(),
        "the next chunk is refused"
    );

    assert_eq!(export.rows(), handed_out);
    let jobs_counted = app
        .service
        .metrics()
        .exported_rows()
        .into_iter()
        .find(|(kind, _)| *kind == ExportKind::Jobs)
        .map(|(_, rows)| rows);
    assert_eq!(jobs_counted, Some(handed_out));
    assert_eq!(count(&app, ExportKind::Jobs, ExportOutcome::Revoked), 1);
}

async fn an_ndjson_export_stops_when_its_user_is_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let cookie = format!("Cookie: {}", app.session_cookie().await);
    let mut export = RawExport::start(
        &app,
        "/api/admin/regeneration-jobs/export?format=ndjson",
        &cookie,
    )
    .await;
    export.read_until_rows(100).await;

    app.service
        .set_user_disabled(&Operator::command_line(), "ada", true)
        .await
        .unwrap();
    let ended_cleanly = export.read_to_end().await;

    assert_cut_short(&export, ended_cleanly);
    assert_eq!(count(&app, ExportKind::Jobs, ExportOutcome::Revoked), 1);
}

async fn an_export_stops_when_its_owner_is_demoted(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    // A read-scope token outlives a demotion (only admin-scope ones are
    // revoked with it), so only the owner's role can stop this export.
    let read_only = app.read_token("ada").await;
    let bearer = format!("Authorization: Bearer {read_only}");
    let mut export = RawExport::start(&app, CSV_EXPORT, &bearer).await;
    export.read_until_rows(600).await;

    app.service
        .set_user_role(&Operator::command_line(), "ada", Role::Member)
        .await
        .unwrap();
    let ended_cleanly = export.read_to_end().await;

    assert_cut_short(&export, ended_cleanly);
    assert_eq!(count(&app, ExportKind::Jobs, ExportOutcome::Revoked), 1);
}

/// A slow reader's export under these limits, as the admin's token.
async fn export_under(backend: Backend, exports: ExportLimits) -> (TestApp, RawExport) {
    let app = spawn_app_with(
        backend,
        Options {
            exports,
            ..Options::default()
        },
    )
    .await;
    seed(&app).await;
    let bearer = format!("Authorization: Bearer {}", app.admin_token);
    let export = RawExport::start(&app, CSV_EXPORT, &bearer).await;
    (app, export)
}

async fn an_export_ends_with_an_error_after_its_maximum_duration(backend: Backend) {
    let limits = ExportLimits {
        max_duration: Duration::from_secs(1),
        ..ExportLimits::default()
    };
    let (app, mut export) = export_under(backend, limits).await;
    // The export started just before its first rows came back.
    let started = Instant::now();

    // A slow reader: 16 KiB every 50 ms would take over a minute for it all.
    let mut stopped_after = None;
    while export.read_some().await {
        if stopped_after.is_none() && count(&app, ExportKind::Jobs, ExportOutcome::TimedOut) == 1 {
            stopped_after = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_cut_short(&export, export.received.ends_with(b"\r\n0\r\n\r\n"));
    let stopped_after = stopped_after.expect("counted as timed out while the client read");
    assert!(
        stopped_after < Duration::from_secs(3),
        "stopped {stopped_after:?} after it started"
    );
}

async fn an_export_whose_client_stops_reading_is_ended(backend: Backend) {
    let limits = ExportLimits {
        idle: Duration::from_secs(1),
        ..ExportLimits::default()
    };
    let (app, mut export) = export_under(backend, limits).await;

    // Nothing more read: the server must end the export by itself.
    let waited = Instant::now();
    while count(&app, ExportKind::Jobs, ExportOutcome::Idle) == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the export is still running, waiting for its client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended_cleanly = export.read_to_end().await;

    assert_cut_short(&export, ended_cleanly);
}
