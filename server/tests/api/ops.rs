//! Operations: health, readiness, metrics, the audit journal round trip.

use regen_domain::JobStatus;
use regen_service::Operator;
use regen_storage::testing::{break_audit_inserts, repair_audit_inserts};
use regen_storage::Backend;

use crate::helpers::{client, sample, spawn_app, spawn_app_with, Options, ServerProcess};

both_backends!(
    health_and_readiness_answer_without_a_body,
    metrics_count_triggers_and_audit_failures,
    a_journaled_audit_event_is_replayed_once,
    sigterm_during_a_load_of_triggers_leaves_no_half_written_state,
);

async fn health_and_readiness_answer_without_a_body(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.text().await.unwrap().is_empty());
    }
}

async fn metrics_count_triggers_and_audit_failures(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options {
            metrics: true,
            ..Options::default()
        },
    )
    .await;
    let id = app.insert_job(JobStatus::Pending).await;
    app.trigger(&id, Some(&app.admin_token)).await;
    app.trigger(&id, Some(&app.admin_token)).await;
    app.trigger(
        "01934b6e-0000-7000-8000-000000000000",
        Some(&app.admin_token),
    )
    .await;
    let second = app.insert_job(JobStatus::Pending).await;
    break_audit_inserts(&app.database).await;
    app.trigger(&second, Some(&app.admin_token)).await;

    let text = app
        .get("/metrics", Some(&app.admin_token))
        .await
        .text()
        .await
        .unwrap();
    let private = client()
        .get(format!("{}/metrics", app.metrics_address.as_ref().unwrap()))
        .send()
        .await
        .unwrap();

    assert_eq!(private.status(), 200, "the metrics address needs no token");
    assert_eq!(sample(&text, "regen_triggers_total{outcome=\"ok\"}"), 2.0);
    assert_eq!(
        sample(&text, "regen_triggers_total{outcome=\"conflict\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "regen_triggers_total{outcome=\"not_found\"}"),
        1.0
    );
    assert_eq!(sample(&text, "regen_audit_write_failures_total"), 1.0);
    assert!(sample(&text, "regen_http_requests_total{route=\"/api/admin/regeneration-jobs/{jobId}/trigger\",method=\"POST\",status=\"200\"}") >= 2.0);
    assert!(text.contains("regen_http_request_duration_seconds_bucket{"));
    // The configured pool of 10 is every connection an instance opens, on
    // either backend.
    assert!(text.contains("regen_db_pool_max_connections 10\n"));
    assert!(text.contains("regen_build_info{"));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(
            value.parse::<f64>().is_ok(),
            "not a Prometheus sample: {line}"
        );
    }
}

async fn a_journaled_audit_event_is_replayed_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.insert_job(JobStatus::Pending).await;
    break_audit_inserts(&app.database).await;
    assert_eq!(app.trigger(&id, Some(&app.admin_token)).await.status(), 200);
    assert_eq!(
        app.store().await.jobs_missing_audit().await.unwrap().len(),
        1
    );
    repair_audit_inserts(&app.database).await;

    let first = app
        .service
        .replay_audit_journal(&Operator::command_line())
        .await
        .unwrap();
    let second = app
        .service
        .replay_audit_journal(&Operator::command_line())
        .await
        .unwrap();

    assert_eq!((first.read, first.inserted), (1, 1));
    assert_eq!((second.inserted, second.already_present), (0, 1));
    assert!(app
        .store()
        .await
        .jobs_missing_audit()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_postgres_refuses_connections_and_recovers() {
    let app = spawn_app(Backend::Postgres).await;
    let asset = app.site_root.join("pkg/regen-admin.css");
    std::fs::create_dir_all(asset.parent().unwrap()).unwrap();
    std::fs::write(&asset, "main { display: block }").unwrap();
    let name = app.database.url.rsplit('/').next().unwrap().to_owned();
    let admin_url = regen_storage::testing::postgres_admin_url();
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let id = app.insert_job(JobStatus::Pending).await;

    sqlx::query(&format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
    ))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await
        .unwrap();
    let ready = app.get("/readyz", None).await.status();
    let page = app
        .get(
            &format!("/admin/regeneration-jobs/{id}"),
            Some(&app.admin_token),
        )
        .await;
    let page_status = page.status();
    let page_text = page.text().await.unwrap();
    let login = app
        .get("/login", Some(&app.admin_token))
        .await
        .status()
        .as_u16();
    let health = app
        .get("/healthz", Some(&app.admin_token))
        .await
        .status()
        .as_u16();
    // Credentials on a static file are never even looked up.
    let stylesheet = app
        .get("/pkg/regen-admin.css", Some(&app.admin_token))
        .await
        .status()
        .as_u16();
    let trigger = app.trigger(&id, Some(&app.admin_token)).await;
    let trigger_status = trigger.status();
    let retry_after = trigger.headers().get("retry-after").is_some();
    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .execute(&admin)
        .await
        .unwrap();

    assert_eq!(ready, 503);
    assert_eq!(
        (login, health),
        (200, 200),
        "public pages answer even with stale credentials"
    );
    assert_eq!(stylesheet, 200, "static files need no database");
    assert_eq!(page_status, 503, "a friendly 503 page, not a panic");
    assert!(
        page_text.contains("Database unavailable") || page_text.contains("database"),
        "{page_text}"
    );
    assert_eq!(trigger_status, 503);
    assert!(retry_after);
    let mut recovered = false;
    for _ in 0..50 {
        if app.get("/readyz", None).await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "readiness recovers without a restart");
    assert_eq!(
        app.detail(&id).await["status"],
        "PENDING",
        "nothing half-written"
    );
}

/// `cargo tree` of the server's runtime dependencies with `args` added.
fn cargo_tree(root: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["tree", "-p", "server", "-e", "normal", "--offline"])
        .args(args)
        .current_dir(root)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The crates that depend directly on `krate` in the server's runtime tree.
fn direct_dependents(root: &std::path::Path, krate: &str) -> Vec<String> {
    cargo_tree(root, &["-i", krate, "--prefix", "depth"])
        .lines()
        .filter_map(|line| line.strip_prefix('1'))
        .filter_map(|line| line.split(' ').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_product_contains_no_generator_or_background_work() {
    // The trigger must start nothing: the one HTTP client in the server's
    // runtime dependencies is the OpenID relying party's (sign-in talks to
    // the identity provider), reached from `regen-oidc` alone, and no task
    // is spawned in the service or storage layers.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let tree = cargo_tree(root, &["--prefix", "none"]);
    for client in ["ureq ", "surf ", "isahc ", "hyper-tls ", "awc "] {
        assert!(
            !tree.lines().any(|l| l.starts_with(client)),
            "{client}is a runtime dependency"
        );
    }
    assert_eq!(direct_dependents(root, "reqwest"), ["oauth2"]);
    assert_eq!(direct_dependents(root, "oauth2"), ["openidconnect"]);
    assert_eq!(direct_dependents(root, "openidconnect"), ["regen-oidc"]);
    assert_eq!(direct_dependents(root, "regen-oidc"), ["regen-service"]);
    // In the service, only the sign-in use case holds the relying party.
    for entry in std::fs::read_dir(root.join("crates/service/src")).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if source.contains("regen_oidc") {
            assert!(
                name == "sso.rs" || name == "lib.rs",
                "{name} uses the OpenID relying party"
            );
        }
    }
    let mut folders = vec![
        root.join("crates/service/src"),
        root.join("crates/storage/src"),
    ];
    let mut read = 0;
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let spawns = source.matches("spawn(").count() + source.matches("spawn_local(").count();
            assert_eq!(spawns, 0, "{} starts background work", path.display());
            read += 1;
        }
    }
    assert!(read > 20, "only {read} source files were searched");
}

/// The real binary serving on a random port, and what it logs.
struct Process {
    child: std::process::Child,
    address: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn start_binary(url: &str) -> Process {
    start_binary_with(url, &[("RUST_LOG", "warn")])
}

fn start_binary_with(url: &str, env: &[(&str, &str)]) -> Process {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regen-admin"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("REGEN_SHUTDOWN_GRACE_SECS", "10")
        .envs(env.iter().copied())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let address = loop {
        let line = lines.next().expect("server prints its address").unwrap();
        if let Some(address) = line.strip_prefix("regen-admin listening on ") {
            break address.trim().to_owned();
        }
    };
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Process {
        child,
        address,
        logs,
    }
}

fn signal(process: &Process, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Triggers sent and triggers acknowledged (answered 200) by a storm.
#[derive(Default)]
struct StormCount {
    sent: std::sync::atomic::AtomicUsize,
    acknowledged: std::sync::atomic::AtomicUsize,
}

/// Fires a trigger at every PENDING job in `ids`, `STORM_WIDTH` at a time,
/// until every id has been tried (once the server is gone, what is left
/// fails at once).
async fn trigger_storm(
    address: &str,
    token: &str,
    ids: Vec<String>,
    count: std::sync::Arc<StormCount>,
) {
    use std::sync::atomic::Ordering::SeqCst;
    const STORM_WIDTH: usize = 32;
    let client = client();
    let lanes: Vec<_> = ids
        .chunks(ids.len().div_ceil(STORM_WIDTH))
        .map(|lane| {
            let requests: Vec<_> = lane
                .iter()
                .map(|id| {
                    client
                        .post(format!(
                            "{address}/api/admin/regeneration-jobs/{id}/trigger"
                        ))
                        .bearer_auth(token)
                })
                .collect();
            let count = count.clone();
            tokio::spawn(async move {
                for request in requests {
                    count.sent.fetch_add(1, SeqCst);
                    if let Ok(response) = request.send().await {
                        if response.status() == 200 {
                            count.acknowledged.fetch_add(1, SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    for lane in lanes {
        lane.await.unwrap();
    }
}

/// Jobs in `status`, counted in the database.
async fn jobs_in_status(store: &regen_storage::Store, status: JobStatus) -> usize {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM regeneration_jobs WHERE status = $1")
            .bind(status.as_str())
            .fetch_one(store.pool())
            .await
            .unwrap();
    count as usize
}

async fn interrupted_under_load(backend: Backend, signal_name: &str) -> regen_storage::Store {
    use std::sync::atomic::Ordering::SeqCst;
    let db = regen_storage::testing::TestDatabase::new(backend).await;
    let store = db.store().await;
    let service =
        crate::helpers::service_on(&db, std::env::temp_dir().join("regen-unused.jsonl")).await;
    service
        .create_user(
            &Operator::command_line(),
            "ops",
            regen_domain::Role::Admin,
            "a long password",
        )
        .await
        .unwrap();
    let token = service
        .create_api_token(&Operator::command_line(), "ops", Default::default())
        .await
        .unwrap()
        .token;
    // Far more triggers than the server answers in the moment between the
    // first acknowledgements and the signal.
    let now = regen_storage::now();
    let ids: Vec<String> = store
        .insert_jobs(
            (0..2000)
                .map(|_| (crate::helpers::new_job(JobStatus::Pending), now))
                .collect(),
        )
        .await
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    let sent_in_all = ids.len();
    let mut process = start_binary(&db.url);

    let count = std::sync::Arc::new(StormCount::default());
    let storm = tokio::spawn({
        let address = process.address.clone();
        let count = count.clone();
        async move { trigger_storm(&address, &token, ids, count).await }
    });
    // The signal goes once the server has acknowledged some triggers, so it
    // lands while the load is running, not before it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count.acknowledged.load(SeqCst) < 10 {
        assert!(
            !storm.is_finished() && std::time::Instant::now() < deadline,
            "the server acknowledged {} triggers before the storm ended",
            count.acknowledged.load(SeqCst)
        );
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    signal(&process, signal_name);
    let exit = tokio::task::spawn_blocking(move || process.child.wait().unwrap())
        .await
        .unwrap();
    storm.await.unwrap();
    let (sent, acknowledged) = (count.sent.load(SeqCst), count.acknowledged.load(SeqCst));

    assert_eq!(sent, sent_in_all, "every trigger was sent");
    assert!(
        0 < acknowledged && acknowledged < sent,
        "the signal landed mid-load: {acknowledged} of {sent} triggers acknowledged"
    );
    if signal_name == "TERM" {
        assert!(exit.success(), "graceful shutdown exits cleanly: {exit:?}");
    }
    // Every answered trigger is committed; every RUNNING job is audited.
    let running = jobs_in_status(&store, JobStatus::Running).await;
    assert!(
        running >= acknowledged,
        "{running} running, {acknowledged} answered 200"
    );
    assert!(
        store.jobs_missing_audit().await.unwrap().is_empty(),
        "no half-written trigger"
    );
    std::mem::forget(db);
    store
}

async fn sigterm_during_a_load_of_triggers_leaves_no_half_written_state(backend: Backend) {
    interrupted_under_load(backend, "TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_writes_leaves_an_intact_sqlite_database() {
    let store = interrupted_under_load(Backend::Sqlite, "KILL").await;
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_have_one_line_per_request_and_no_secrets_or_payloads() {
    let db = regen_storage::testing::TestDatabase::new(Backend::Sqlite).await;
    let store = db.store().await;
    let service =
        crate::helpers::service_on(&db, std::env::temp_dir().join("regen-unused.jsonl")).await;
    let password = "a very secret password";
    service
        .create_user(
            &Operator::command_line(),
            "ops",
            regen_domain::Role::Admin,
            password,
        )
        .await
        .unwrap();
    let token = service
        .create_api_token(&Operator::command_line(), "ops", Default::default())
        .await
        .unwrap()
        .token;
    let payload = r#"{"prompt":"payload-marker-7f3a"}"#;
    let job = regen_domain::NewJob {
        instruction_json: regen_domain::JsonText::parse(payload).unwrap(),
        ..crate::helpers::new_job(JobStatus::Pending)
    };
    let id = store.insert_job(job).await.unwrap().id.to_string();
    let mut process = start_binary_with(
        &db.url,
        &[("REGEN_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );

    let login = client()
        .post(format!("{}/login", process.address))
        .form(&[("username", "ops"), ("password", password)])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let detail = client()
        .get(format!(
            "{}/api/admin/regeneration-jobs/{id}",
            process.address
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(detail.text().await.unwrap().contains("payload-marker-7f3a"));
    let trigger = client()
        .post(format!(
            "{}/api/admin/regeneration-jobs/{id}/trigger",
            process.address
        ))
        .bearer_auth(&token)
        .header("x-request-id", "caller-trace-42")
        .send()
        .await
        .unwrap();
    let request_id = trigger.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    signal(&process, "TERM");
    tokio::task::spawn_blocking(move || process.child.wait().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let logs = process.logs.lock().unwrap().join("\n");
    let secret = cookie.split('=').nth(1).unwrap();
    for (what, needle) in [
        ("password", password),
        ("token", &token[4..]),
        ("session", secret),
        ("payload", "payload-marker-7f3a"),
    ] {
        assert!(
            !logs.contains(needle),
            "the {what} appears in the logs:\n{logs}"
        );
    }
    let trigger_line = logs
        .lines()
        .find(|l| l.contains(&request_id))
        .unwrap_or_else(|| panic!("no log line for the trigger in\n{logs}"));
    let line: serde_json::Value = serde_json::from_str(trigger_line).expect("JSON log line");
    assert_eq!(
        line["route"],
        "/api/admin/regeneration-jobs/{jobId}/trigger"
    );
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].is_number());
    assert!(!line["user_id"].as_str().unwrap().is_empty());
    assert_eq!(line["clientRequestId"], "caller-trace-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_a_client_never_reach_a_log_line_raw() {
    let db = regen_storage::testing::TestDatabase::new(Backend::Sqlite).await;
    let mut process = start_binary_with(&db.url, &[("RUST_LOG", "info")]);
    let forged = "x\n2026-01-01 INFO login succeeded username=alice\x1b[2J";

    let response = client()
        .post(format!("{}/login", process.address))
        .form(&[("username", forged), ("password", "whatever it is")])
        .send()
        .await
        .unwrap();
    signal(&process, "TERM");
    tokio::task::spawn_blocking(move || process.child.wait().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    assert_eq!(response.status(), 401);
    let logs = process.logs.lock().unwrap().clone();
    let failures: Vec<&String> = logs.iter().filter(|l| l.contains("login failed")).collect();
    assert_eq!(failures.len(), 1, "exactly one line: {logs:#?}");
    assert!(
        failures[0].contains(r"x\n2026-01-01"),
        "escaped: {}",
        failures[0]
    );
    assert!(
        logs.iter().all(|l| !l.contains('\x1b')),
        "no raw ESC: {logs:#?}"
    );
    assert!(
        logs.iter().all(|l| !l.starts_with("2026-01-01")),
        "no forged line: {logs:#?}"
    );
}

/// A body written in several pieces on a reused connection waits for the
/// client's delayed ACK (~40 ms each time) unless the server sets
/// TCP_NODELAY. Twenty fetches of a 9 KB file (gzip, streamed) over one
/// keep-alive connection show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_on_a_kept_alive_connection_arrive_without_a_stall() {
    let app = spawn_app(Backend::Sqlite).await;
    let asset = app.site_root.join("pkg/regen-admin.js");
    std::fs::create_dir_all(asset.parent().unwrap()).unwrap();
    std::fs::write(&asset, "x".repeat(9 * 1024)).unwrap();
    let one_connection = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let fetch = || async {
        let started = std::time::Instant::now();
        let response = one_connection
            .get(app.url("/pkg/regen-admin.js"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        started.elapsed()
    };
    fetch().await;

    let mut times = Vec::new();
    for _ in 0..20 {
        times.push(fetch().await);
    }

    // Without TCP_NODELAY about half of these take 40 ms or more; with it,
    // all take a few. A few slow ones are a busy machine, not the stall.
    let stalled = times
        .iter()
        .filter(|t| **t > std::time::Duration::from_millis(30))
        .count();
    assert!(stalled <= 3, "{stalled} of 20 stalled: {times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_origin_without_a_client_address_header_is_warned_about_once_at_start_up() {
    let db = regen_storage::testing::TestDatabase::new(Backend::Sqlite).await;
    let origin = ("REGEN_PUBLIC_ORIGIN", "https://regen.example.com");
    let warning = "every client shares one address for the login throttle";

    let public = ServerProcess::start(&db.url, &[origin]).stop();
    let with_header = ServerProcess::start(
        &db.url,
        &[origin, ("REGEN_CLIENT_IP_HEADER", "x-forwarded-for")],
    )
    .stop();
    let on_loopback =
        ServerProcess::start(&db.url, &[("REGEN_PUBLIC_ORIGIN", "http://localhost:3000")]).stop();

    assert_eq!(public.matches(warning).count(), 1, "{public}");
    assert!(public.contains("WARN"), "{public}");
    assert!(!with_header.contains(warning), "{with_header}");
    assert!(!on_loopback.contains(warning), "{on_loopback}");
}

/// SQLite's C allocations go to glibc's malloc, whose per-thread arenas kept
/// megabytes after an export (`cap_malloc_arenas` in main.rs): the binary
/// starts itself again with one arena per core, unless told otherwise.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_with_one_malloc_arena_per_core_unless_told_otherwise() {
    let db = regen_storage::testing::TestDatabase::new(Backend::Sqlite).await;
    let cores = std::thread::available_parallelism()
        .unwrap()
        .get()
        .to_string();
    let expected = std::env::var("MALLOC_ARENA_MAX").unwrap_or(cores);

    let server = ServerProcess::start(&db.url, &[]);
    let arenas = server.environment("MALLOC_ARENA_MAX");
    let health = client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    server.stop();
    assert_eq!(
        arenas,
        Some(expected),
        "the process the test started serves"
    );
    assert_eq!(health.status(), 200);

    let told = ServerProcess::start(&db.url, &[("MALLOC_ARENA_MAX", "5")]);
    let arenas = told.environment("MALLOC_ARENA_MAX");
    told.stop();
    assert_eq!(arenas.as_deref(), Some("5"), "an explicit setting wins");
}
