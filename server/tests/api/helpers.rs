//! `spawn_app`: a real server on a random port over a fresh SQLite file or
//! PostgreSQL database, with an admin, a member and their API tokens.

use std::path::PathBuf;

use regen_domain::Role;
use regen_domain::{JobStatus, JsonText, NewJob};
use regen_service::{AdminService, Operator, Redaction, ServiceSettings};
use regen_storage::testing::TestDatabase;
use regen_storage::Backend;
use reqwest::redirect::Policy;
use server::config::{Config, ConnectionLimits, ExportLimits};
use server::Application;
use sqlx::Row;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub service: AdminService,
    pub admin_token: String,
    pub member_token: String,
    pub database: TestDatabase,
    pub journal: PathBuf,
    pub metrics_address: Option<String>,
    /// The site files this instance serves (empty until a test writes some).
    pub site_root: PathBuf,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub struct Options {
    pub metrics: bool,
    pub idle_secs: u64,
    pub client_ip_header: Option<String>,
    pub public_origin: Option<String>,
    /// Files under the site root (`pkg/regen-admin.css`…), there at start-up.
    pub site_files: Vec<(&'static str, Vec<u8>)>,
    /// Unset: the defaults' (10 s to send headers, 1,024 connections).
    pub connections: Option<ConnectionLimits>,
    pub exports: ExportLimits,
    pub bulk_trigger_max: usize,
    pub redaction: Redaction,
    /// `REGEN_TARGET_URL_TEMPLATES`; unset: none.
    pub target_links: Option<&'static str>,
    /// `REGEN_OIDC_*`; unset: no SSO.
    pub sso: Option<server::config::SsoConfig>,
    /// `REGEN_PASSWORD_LOGIN`.
    pub password_login: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            metrics: false,
            idle_secs: 3600,
            client_ip_header: None,
            public_origin: None,
            site_files: Vec::new(),
            connections: None,
            exports: ExportLimits::default(),
            bulk_trigger_max: 1000,
            redaction: Redaction::default(),
            target_links: None,
            sso: None,
            password_login: true,
        }
    }
}

impl Options {
    /// The defaults, with the private `/metrics` listener.
    pub fn with_metrics() -> Options {
        Options {
            metrics: true,
            ..Options::default()
        }
    }
}

/// `regen-admin serve` on a fresh SQLite path with `env` set and `unset`
/// removed, for a start that must be refused: its exit status, its stderr,
/// and whether the database file was created.
pub fn refused_serve(
    env: &[(&str, &str)],
    unset: &[&str],
) -> (std::process::ExitStatus, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("x.db");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_regen-admin"));
    command
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", database.display()))
        .envs(env.iter().copied());
    for name in unset {
        command.env_remove(name);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stderr, database.exists())
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

/// An app whose bulk triggers take at most `max` jobs.
pub async fn spawn_app_with_bulk_max(backend: Backend, max: usize) -> TestApp {
    let options = Options {
        bulk_trigger_max: max,
        ..Options::default()
    };
    spawn_app_with(backend, options).await
}

pub async fn spawn_app_with(backend: Backend, options: Options) -> TestApp {
    if std::env::var_os("REGEN_TEST_LOG").is_some() {
        server::telemetry::init(
            server::config::LogFormat::Text,
            std::env::var("RUST_LOG").ok().as_deref(),
            server::telemetry::SERVER_FILTER,
        );
    }
    let database = TestDatabase::new(backend).await;
    start_instance(database, &options).await
}

/// Another instance on the same database (PostgreSQL scale-out tests).
pub async fn spawn_second_instance(first: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_tests(
        &first.database.url,
        dir.path().join("site"),
        first.journal.clone(),
    );
    let app = Application::build(config)
        .await
        .expect("second instance starts");
    let address = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    std::mem::forget(dir);
    (address, stop)
}

async fn start_instance(database: TestDatabase, options: &Options) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("audit-fallback.jsonl");
    for (path, bytes) in &options.site_files {
        let file = dir.path().join("site").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    let mut config = Config::for_tests(&database.url, dir.path().join("site"), journal.clone());
    config.sessions.idle_timeout = std::time::Duration::from_secs(options.idle_secs);
    config.client_ip_header = options.client_ip_header.clone();
    config.public_origin = options.public_origin.clone();
    if let Some(limits) = options.connections {
        config.connections = limits;
    }
    config.exports = options.exports;
    config.bulk_trigger_max = options.bulk_trigger_max;
    config.redaction = options.redaction.clone();
    if let Some(templates) = options.target_links {
        config.target_links = templates.parse().expect("valid templates");
    }
    if options.metrics {
        config.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    }
    config.sso = options.sso.clone();
    config.password_login = options.password_login;
    let app = Application::build(config).await.expect("app starts");
    let address = format!("http://{}", app.local_addr());
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let service = app.service().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    service
        .create_user(&Operator::command_line(), "ada", Role::Admin, PASSWORD)
        .await
        .unwrap();
    service
        .create_user(&Operator::command_line(), "mel", Role::Member, PASSWORD)
        .await
        .unwrap();
    let admin_token = service
        .create_api_token(&Operator::command_line(), "ada", Default::default())
        .await
        .unwrap()
        .token;
    let member_token = service
        .create_api_token(&Operator::command_line(), "mel", Default::default())
        .await
        .unwrap()
        .token;
    TestApp {
        address,
        service,
        admin_token,
        member_token,
        database,
        journal,
        metrics_address,
        site_root: dir.path().join("site"),
        _dir: dir,
        _stop: stop,
    }
}

/// A service of its own on a test database, as the CLI builds one.
pub async fn service_on(db: &TestDatabase, journal: impl Into<PathBuf>) -> AdminService {
    AdminService::connect(&ServiceSettings {
        database_url: db.url.clone(),
        max_connections: 5,
        acquire_timeout: std::time::Duration::from_secs(5),
        audit_fallback_path: journal.into(),
        sessions: Default::default(),
        login_throttle: Default::default(),
        bulk_trigger_max: 1000,
        redaction: Default::default(),
    })
    .await
    .expect("service connects")
}

/// The value of one series in a Prometheus text page.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
}

/// A client that does not follow redirects and keeps cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

pub fn new_job(status: JobStatus) -> NewJob {
    NewJob {
        status,
        target_type: "insight".into(),
        target_id: "ins-1".into(),
        instruction_json: JsonText::parse(
            r#"{"prompt":"rewrite","big":123456789012345678901234567890}"#,
        )
        .unwrap(),
        output_ref: None,
        error_json: None,
        created_by: "producer".into(),
    }
}

impl TestApp {
    /// The storage layer on this app's database, for tests that inspect or
    /// arrange data past the service (never used by the server itself).
    pub async fn store(&self) -> regen_storage::Store {
        self.database.store().await
    }

    /// A new read-scope API token of `user`.
    pub async fn read_token(&self, user: &str) -> String {
        let request = regen_service::TokenRequest {
            scope: Some(regen_domain::Scope::Read),
            ..Default::default()
        };
        self.service
            .create_api_token(&Operator::command_line(), user, request)
            .await
            .unwrap()
            .token
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn insert_job(&self, status: JobStatus) -> String {
        self.store()
            .await
            .insert_job(new_job(status))
            .await
            .unwrap()
            .id
            .to_string()
    }

    /// `/metrics` from the private metrics address (`Options::metrics`).
    pub async fn private_metrics(&self) -> String {
        let address = self.metrics_address.as_ref().expect("started with metrics");
        client()
            .get(format!("{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = client().get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// The job as the admin reads it through the API.
    pub async fn detail(&self, id: &str) -> serde_json::Value {
        let path = format!("/api/admin/regeneration-jobs/{id}");
        let response = self.get(&path, Some(&self.admin_token)).await;
        response.json().await.unwrap()
    }

    /// The ids a listing returns, in order.
    pub async fn listed_ids(&self, path: &str) -> Vec<String> {
        let response = self.get(path, Some(&self.admin_token)).await;
        let body: serde_json::Value = response.json().await.unwrap();
        body.as_array()
            .unwrap()
            .iter()
            .map(|job| job["id"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn trigger(&self, id: &str, token: Option<&str>) -> reqwest::Response {
        let mut request =
            client().post(self.url(&format!("/api/admin/regeneration-jobs/{id}/trigger")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Logs in through the form and returns a client holding the session.
    pub async fn browser_login(&self, username: &str) -> reqwest::Client {
        let client = client();
        let response = client
            .post(self.url("/login"))
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("username", username),
                ("password", PASSWORD),
                ("next", "/admin/regeneration-jobs"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "login as {username}");
        client
    }

    /// Logs ada in through the form and returns her session's `Cookie`
    /// pair, for raw requests.
    pub async fn session_cookie(&self) -> String {
        let login = client()
            .post(self.url("/login"))
            .form(&[("username", "ada"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        login.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Every row of the job and audit tables, and the accounts, as text:
    /// what a whole-database diff compares.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut rows = Vec::new();
        for (table, columns) in [
            ("regeneration_jobs", "id, status, target_type, target_id, instruction_json, output_ref, error_json, created_at, created_by"),
            ("audit_events", "id, event_type, job_id, actor, occurred_at, request_id, details"),
            ("users", "id, username, role, password_hash, created_at"),
            ("api_tokens", "id, user_id, token_hash, created_at"),
        ] {
            let sql = format!("SELECT {columns} FROM {table} ORDER BY id");
            for row in sqlx::query(&sql).fetch_all(&self.database.raw_pool().await).await.unwrap() {
                let values: Vec<String> = (0..row.len())
                    .map(|i| row.try_get::<Option<String>, _>(i).unwrap().unwrap_or_else(|| "NULL".into()))
                    .collect();
                rows.push(format!("{table}: {}", values.join(" | ")));
            }
        }
        rows
    }
}

/// The real binary serving in a process of its own, for what only a process
/// shows: its log lines and its memory. Its stderr is drained as it runs.
pub struct ServerProcess {
    pub base: String,
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regen-admin"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", dir.path())
            .env(
                "REGEN_AUDIT_FALLBACK_PATH",
                dir.path().join("journal.jsonl"),
            )
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (ready, started) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut ready = Some(ready);
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                let listening = line.contains("listening");
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
                if listening {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                }
            }
        });
        started
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().unwrap()));
        ServerProcess {
            base: format!("http://127.0.0.1:{port}"),
            child,
            log,
            _dir: dir,
        }
    }

    /// A line of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`: the peak).
    /// Used by the memory test binary (`tests/memory`), which shares this
    /// file.
    #[allow(dead_code)]
    pub fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// A variable of the server's environment, as its process has it now.
    pub fn environment(&self, name: &str) -> Option<String> {
        let environ = std::fs::read(format!("/proc/{}/environ", self.child.id())).unwrap();
        environ.split(|byte| *byte == 0).find_map(|entry| {
            let entry = std::str::from_utf8(entry).ok()?;
            let (key, value) = entry.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// Stops the server and returns everything it logged.
    pub fn stop(mut self) -> String {
        std::thread::sleep(std::time::Duration::from_millis(300));
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let log = self.log.lock().unwrap().clone();
        log
    }
}

/// A PENDING insight job with this target, author and instruction.
pub fn job(target_id: &str, created_by: &str, instruction: &str) -> NewJob {
    NewJob {
        status: JobStatus::Pending,
        target_type: "insight".into(),
        target_id: target_id.into(),
        instruction_json: JsonText::parse(instruction).unwrap(),
        output_ref: None,
        error_json: None,
        created_by: created_by.into(),
    }
}
